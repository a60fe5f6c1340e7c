import { UserError } from '../config/errors.js';
import { loadRunConfig, type Environment } from '../config/run-config.js';
import { tokenSource } from '../dataplane/token.js';
import { inspectBinary, lookupBinary } from '../envoy/binary.js';
import { resolveCommand } from '../process/lookup.js';
import { captureSignals } from './signals.js';

export interface RunContext {
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: Environment;
  readonly cwd: string;
  /** Where the kuma-dp entry lives: Envoy may sit next to it. */
  readonly selfDir: string;
  readonly stderrIsTTY: boolean;
}

/** The app of `kuma-dp run -- <app>`, checked up front so a typo fails before Envoy starts. */
function lookupApp(command: string, pathEnv: string, cwd: string): string {
  const found = resolveCommand(command, pathEnv, cwd);
  if (!found) throw new UserError(`invalid application "${command}" after --: no such executable${command.includes('/') ? '' : ' in PATH'}`);
  return found;
}

/**
 * `kuma-dp run`. Everything that can be wrong with the input is checked before anything starts
 * or any request is sent; a UserError thrown from here is printed as one line by main.
 */
export async function run(context: RunContext): Promise<void> {
  const signals = captureSignals();
  const config = loadRunConfig(context.flags, context.env);
  const token = tokenSource(config.dataplane.token);
  await token(); // an unreadable token file fails here, before anything starts
  const pathEnv = context.env.PATH ?? '';
  const binary = lookupBinary(config.envoy.binaryPath, { pathEnv, cwd: context.cwd, selfDir: context.selfDir });
  // Envoy answers `--version` while the rest of the agent (undici, execa, pino, yaml) loads: both
  // take tens of milliseconds, and this way they overlap.
  const [build, { startDataplane }] = await Promise.all([inspectBinary(binary), import('./dataplane.js')]);
  const app = config.app && { binary: lookupApp(config.app[0]!, pathEnv, context.cwd), args: config.app.slice(1) };
  await startDataplane({ context, config, token, binary, build, app, signals });
}

import { readFileSync } from 'node:fs';
import { captureSignals } from '../agent/signals.js';
import { loadRunConfig, type Environment } from '../config/run-config.js';
import { tokenSource } from '../bootstrap/token.js';
import { inspectBinary, lookupBinary } from '../envoy/binary.js';
import { UserError } from '../errors.js';
import { resolveCommand } from '../process/lookup.js';

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

/** The files the settings name (the CA, the Dataplane template), read here at the edge; - is stdin. */
function readText(file: string, setting: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${setting} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * `kuma-dp run`. Everything that can be wrong with the input is checked before anything starts
 * or any request is sent; resolves with the code to exit with.
 */
export async function run(context: RunContext): Promise<number> {
  const signals = captureSignals();
  const config = loadRunConfig(context.flags, context.env, readText);
  const token = tokenSource(config.dataplane.token);
  token(); // an unreadable token file fails here, before anything starts
  const pathEnv = context.env.PATH ?? '';
  const binary = lookupBinary(config.envoy.binaryPath, { pathEnv, cwd: context.cwd, selfDir: context.selfDir });
  // Envoy answers `--version` while the rest of the agent (undici, execa, pino, yaml) loads: both
  // take tens of milliseconds, and this way they overlap.
  const [build, { runAgent }] = await Promise.all([inspectBinary(binary), import('../agent/agent.js')]);
  const app = config.app && { binary: lookupApp(config.app[0]!, pathEnv, context.cwd), args: config.app.slice(1) };
  return runAgent({ config, env: context.env, token, binary, build, ...(app && { app }) }, { stderrIsTTY: context.stderrIsTTY, signals });
}

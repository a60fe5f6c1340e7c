import { statSync } from 'node:fs';
import path from 'node:path';
import { captureSignals, type CapturedSignals } from '../agent/signals.js';
import { loadRunConfig, logOutputOf, type Environment } from '../config/run-config.js';
import { RUN_SETTINGS, resolveSetting } from '../config/settings.js';
import type { DataplaneSpec } from '../dataplane/dataplane.js';
import { tokenSource } from '../bootstrap/token.js';
import { inspectBinary, lookupBinary, type EnvoyBuild } from '../envoy/binary.js';
import { UserError } from '../errors.js';
import { findOnPath, resolveCommand } from '../process/lookup.js';
import { FileRefused, readRegularFileSync } from '../system/regular-file.js';

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

/** A CA bundle or a Dataplane resource is a few KiB; parsing much more would hold up the start (and a SIGTERM). */
const MAX_SETTING_FILE_BYTES = 1024 * 1024;

/**
 * The files the settings name (the CA, the Dataplane template), read here at the edge; - is stdin.
 * Only regular files, and bounded: a FIFO or a device must not freeze the start.
 */
function readText(file: string, setting: string): string {
  try {
    return readRegularFileSync(file === '-' ? 0 : file, MAX_SETTING_FILE_BYTES);
  } catch (error) {
    const reason = error instanceof FileRefused ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
    throw new UserError(`cannot read ${setting} ${file}: ${reason}`);
  }
}

/** Checks one dataplane's settings up to the point where it can start: nothing left can be a typo. */
async function checkDataplane(flags: Readonly<Record<string, unknown>>, context: RunContext) {
  const config = loadRunConfig(flags, context.env, readText);
  const token = tokenSource(config.dataplane.token);
  await token(); // an unreadable token file fails here, before anything starts
  const pathEnv = context.env.PATH ?? '';
  // Without it there is no access-log pipe, and Envoy, told to write to that path, would fill a
  // plain file instead: a missing mkfifo is a start-up error, not a warning.
  if (!findOnPath('mkfifo', pathEnv)) throw new UserError('mkfifo is not in PATH: kuma-dp makes the access-log pipe with it (install coreutils)');
  const binary = lookupBinary(config.envoy.binaryPath, { pathEnv, cwd: context.cwd, selfDir: context.selfDir });
  const app = config.app && { binary: lookupApp(config.app[0]!, pathEnv, context.cwd), args: config.app.slice(1) };
  return { config, env: context.env, token, binary, ...(app && { app }) };
}

/**
 * `kuma-dp run`. Everything that can be wrong with the input is checked before anything starts
 * or any request is sent; resolves with the code to exit with.
 */
export async function run(context: RunContext): Promise<number> {
  const signals = captureSignals();
  const dir = resolveSetting(RUN_SETTINGS.dataplanesDir, context.flags, context.env);
  if (dir !== undefined) return runFleetIn(path.resolve(context.cwd, dir), context, signals);
  const checked = await checkDataplane(context.flags, context);
  // Envoy answers `--version` while the rest of the agent (pino, yaml) loads: both
  // take tens of milliseconds, and this way they overlap.
  const [build, { runSingle }] = await Promise.all([inspectBinary(checked.binary), import('../agent/single.js')]);
  return runSingle({ ...checked, build }, { stderrIsTTY: context.stderrIsTTY, signals });
}

/** What names one dataplane: with --dataplanes-dir each file names its own. */
const ONE_DATAPLANE = [
  ['name', 'KUMA_DATAPLANE_NAME'],
  ['dataplane', 'KUMA_DATAPLANE_RUNTIME_RESOURCE'],
  ['dataplane-file', 'KUMA_DATAPLANE_RUNTIME_RESOURCE_PATH'],
  ['admin-port', 'KUMA_DATAPLANE_ADMIN_PORT'],
  // One work dir each: two dataplanes in one would overwrite each other's bootstrap and sockets.
  ['config-dir', 'KUMA_DATAPLANE_RUNTIME_CONFIG_DIR'],
  ['config-dir', 'KUMA_DATAPLANE_RUNTIME_WORK_DIR'],
] as const;

async function runFleetIn(dir: string, context: RunContext, signals: CapturedSignals): Promise<number> {
  for (const [flag, variable] of ONE_DATAPLANE) {
    if (context.flags[flag] !== undefined) throw new UserError(`--${flag} names one dataplane; with --dataplanes-dir each file names its own`);
    if (context.env[variable]) throw new UserError(`${variable} names one dataplane; with --dataplanes-dir each file names its own`);
  }
  if (Array.isArray(context.flags['--']) && context.flags['--'].length > 0) {
    throw new UserError('an app after -- belongs to one dataplane; with --dataplanes-dir give it in its file (app: [command, args...])');
  }
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    throw new UserError(`invalid --dataplanes-dir ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!isDir) throw new UserError(`invalid --dataplanes-dir ${dir}: not a directory`);
  const readinessPort = resolveSetting(RUN_SETTINGS.readinessPort, context.flags, context.env)!;
  const logLevel = resolveSetting(RUN_SETTINGS.logLevel, context.flags, context.env)!;
  const [{ Agent }, { runFleet }] = await Promise.all([import('../agent/agent.js'), import('../fleet/fleet.js')]);
  const logOutput = logOutputOf(context.flags, context.env);
  const agent = await Agent.start({ readinessPort, logLevel, ...(logOutput && { logOutput }), stderrIsTTY: context.stderrIsTTY, env: context.env });
  const builds = new Map<string, Promise<EnvoyBuild>>();
  const agentFlags = Object.fromEntries(Object.entries(context.flags).filter(([key]) => key !== 'readiness-port' && key !== 'readinessPort'));
  const check = async (fileFlags: Readonly<Record<string, unknown>>): Promise<DataplaneSpec> => {
    // A file's readiness port is its dataplane's own; without one, kuma-cp is told the host's.
    const flags = { 'readiness-port': String(readinessPort), ...agentFlags, ...fileFlags };
    const checked = await checkDataplane(flags, context);
    // One `--version` per Envoy binary, however many dataplanes run it; a failed one is asked again.
    if (!builds.has(checked.binary)) builds.set(checked.binary, inspectBinary(checked.binary).catch((error: Error) => {
      builds.delete(checked.binary);
      throw error;
    }));
    return { ...checked, build: await builds.get(checked.binary)! };
  };
  try {
    const code = await runFleet({ dir, agent, signals, check });
    agent.logger.info({ event: 'agent-stopped', exitCode: code }, 'kuma-dp stopped');
    return code;
  } finally {
    await agent.close();
  }
}

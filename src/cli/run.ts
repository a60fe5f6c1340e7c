import { accessSync, constants, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBootstrapRequest } from '../bootstrap/request.js';
import { loadRunConfig, type Environment, type RunConfig } from '../config/run-config.js';
import { assertAdminAddressFree } from '../envoy/admin-port.js';
import { envoyArgs } from '../envoy/args.js';
import { inspectBinary, lookupBinary } from '../envoy/binary.js';
import { envoyEnvironment } from '../envoy/environment.js';
import { clearPidfile, killLeftoverEnvoy, pidfilePath } from '../envoy/pidfile.js';
import { createLauncher } from '../launcher.js';
import { captureSignals } from './signals.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { Supervisor, realClock } from '../supervisor/driver.js';
import type { Policy } from '../supervisor/machine.js';
import { agentVersion } from '../version.js';
import { openWorkDir } from '../workdir.js';

export interface RunContext {
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: Environment;
  readonly cwd: string;
  /** Where the kuma-dp entry lives: Envoy may sit next to it. */
  readonly selfDir: string;
  readonly stderrIsTTY: boolean;
}

/** An Envoy that stays live this long is considered healthy again: the crash count resets. */
export const STABLE_AFTER_MS = 60_000;

function findOnPath(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function policyOf(config: RunConfig): Policy {
  return { ...config.envoy.restart, stableAfterMs: STABLE_AFTER_MS, drainTimeMs: config.envoy.drainTimeMs, stopTimeoutMs: config.envoy.stopTimeoutMs };
}

/**
 * `kuma-dp run`. Everything that can be wrong with the input is checked before anything starts
 * or any request is sent; a UserError thrown from here is printed as one line by main.
 */
export async function run(context: RunContext): Promise<void> {
  const signals = captureSignals();
  const config = loadRunConfig(context.flags, context.env);
  const pathEnv = context.env.PATH ?? '';
  const binary = lookupBinary(config.envoy.binaryPath, { pathEnv, cwd: context.cwd, selfDir: context.selfDir });
  const build = await inspectBinary(binary);
  if (config.dataplane.adminPort !== undefined) {
    await assertAdminAddressFree({ kind: 'tcp', host: '127.0.0.1', port: config.dataplane.adminPort });
  }

  const logger = createLogger({
    level: config.logLevel,
    base: { mesh: config.dataplane.mesh, name: config.dataplane.name },
    pretty: context.stderrIsTTY,
  });
  if (!build.compatible) {
    logger.warn({ envoyVersion: build.version }, 'this Envoy version is not one kuma-dp was tested with; it may not work');
  }

  const workDir = openWorkDir(config.configDir);
  const stateDir = config.configDir ?? path.join(os.tmpdir(), `kuma-dp-${process.getuid?.() ?? 'user'}`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const pidfile = pidfilePath(stateDir, config.dataplane.mesh, config.dataplane.name);
  const leftover = await killLeftoverEnvoy(pidfile);
  if (leftover) logger.warn({ envoyPid: leftover }, 'killed an Envoy a previous kuma-dp of this dataplane left running');

  const setpriv = process.platform === 'linux' ? findOnPath('setpriv', pathEnv) : undefined;
  if (process.platform === 'linux' && !setpriv) {
    logger.warn('setpriv (util-linux) not found: Envoy may outlive kuma-dp if kuma-dp is killed with SIGKILL');
  }

  logger.info(
    { cp: config.controlPlane.url.origin, envoy: binary, envoyVersion: build.version, workdir: workDir.path },
    'starting the dataplane',
  );
  const version = agentVersion();
  const launch = createLauncher({
    client: {
      url: config.controlPlane.url,
      retryBackoffMs: config.controlPlane.retryBackoffMs,
      retryMaxDurationMs: config.controlPlane.retryMaxDurationMs,
      logger,
    },
    request: () =>
      buildBootstrapRequest({
        ...config.dataplane,
        readinessPort: config.readinessPort || undefined,
        envoy: build,
        agentVersion: version,
        workdir: workDir.path,
        platform: process.platform,
      }),
    adminPort: config.dataplane.adminPort,
    bootstrapPath: workDir.bootstrapPath,
    pidfile,
    binary,
    args: envoyArgs({ ...config.envoy, configPath: workDir.bootstrapPath, platform: process.platform }),
    env: envoyEnvironment(context.env),
    setpriv,
    logger,
  });

  const supervisor = new Supervisor({
    policy: policyOf(config),
    clock: realClock,
    logger,
    launch,
    exit: (code) => exit(code, { workDir, pidfile, logger }),
  });
  supervisor.start();
  signals.deliverTo((signal) => supervisor.signal(signal));
}

function exit(code: number, resources: { workDir: { remove(): void }; pidfile: string; logger: Logger }): void {
  resources.workDir.remove();
  clearPidfile(resources.pidfile);
  resources.logger.info({ exitCode: code }, 'kuma-dp stopped');
  process.exit(code);
}

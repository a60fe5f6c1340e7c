// The part of `kuma-dp run` after the input is checked: the modules behind it (undici, execa,
// pino, yaml) load while `envoy --version` runs (see run.ts).
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { featuresOfSettings } from '../bootstrap/features.js';
import { buildBootstrapRequest } from '../bootstrap/request.js';
import { controlPlaneDispatcher, tlsFailure } from '../bootstrap/tls.js';
import type { RunConfig } from '../config/run-config.js';
import type { TokenFields } from '../dataplane/token.js';
import { assertAdminAddressFree } from '../envoy/admin-port.js';
import { envoyArgs } from '../envoy/args.js';
import type { EnvoyBuild } from '../envoy/binary.js';
import { clearPidfile, pidfilePath, takeOverDataplane } from '../envoy/pidfile.js';
import { createLauncher } from '../launcher.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { notifyTarget, SystemdNotifier, systemdNotifySender } from '../notify/systemd.js';
import { spawnChild } from '../process/child.js';
import { childEnvironment } from '../process/environment.js';
import { findOnPath } from '../process/lookup.js';
import { startReadinessServer } from '../readiness/server.js';
import { readinessOf } from '../readiness/state.js';
import { Supervisor, realClock } from '../supervisor/driver.js';
import type { Policy, State } from '../supervisor/machine.js';
import { systemCaBundle } from '../system/ca-bundle.js';
import { hasLocalIPv6 } from '../system/ipv6.js';
import { cgroupMemoryLimit } from '../system/memory-limit.js';
import { agentBuild } from '../version.js';
import { openWorkDir } from '../workdir.js';
import type { RunContext } from './run.js';
import type { captureSignals } from './signals.js';

/** An Envoy that stays live this long is considered healthy again: the crash count resets. */
export const STABLE_AFTER_MS = 60_000;

export interface CheckedRun {
  readonly context: RunContext;
  readonly config: RunConfig;
  readonly token: () => TokenFields;
  readonly binary: string;
  readonly build: EnvoyBuild;
  readonly app?: { readonly binary: string; readonly args: readonly string[] };
  readonly signals: ReturnType<typeof captureSignals>;
}

function policyOf(config: RunConfig): Policy {
  return {
    ...config.envoy.restart,
    stableAfterMs: STABLE_AFTER_MS,
    drainTimeMs: config.envoy.drainTimeMs,
    stopTimeoutMs: config.envoy.stopTimeoutMs,
    app: config.app !== undefined,
  };
}

/** Binds the readiness endpoint, takes over from a leftover Envoy, then starts the supervisor. */
export async function startDataplane({ context, config, token, binary, build, app, signals }: CheckedRun): Promise<void> {
  const pathEnv = context.env.PATH ?? '';
  // Bound before anything starts: a taken port is a one-line error, not a half-started dataplane.
  // Always bound (port 0: one the system picks): kuma-cp routes the public /ready to it.
  const readiness = await startReadinessServer({ port: config.readinessPort });

  const logger = createLogger({
    level: config.logLevel,
    base: { mesh: config.dataplane.mesh, name: config.dataplane.name },
    pretty: context.stderrIsTTY,
    ...(config.logOutput && { file: config.logOutput }),
  });
  if (config.logOutput) process.stdout.write(`kuma-dp: logs will be stored in ${JSON.stringify(path.resolve(config.logOutput.path))}\n`);
  for (const notice of config.notices) logger.warn(notice);
  if (!build.compatible) {
    logger.warn({ envoyVersion: build.version }, 'this Envoy version is not one kuma-dp was tested with; it may not work');
  }
  if (config.controlPlane.tls.skipVerify && config.controlPlane.url.protocol === 'https:') {
    logger.warn(
      { cp: config.controlPlane.url.origin },
      "--skip-verify: the control plane's certificate is not checked, so anyone on the path can pose as it and receive the dataplane token",
    );
  }

  // Before the port check: a leftover Envoy of this very dataplane is the likeliest holder of its port.
  const stateDir = config.configDir ?? path.join(os.tmpdir(), `kuma-dp-${process.getuid?.() ?? 'user'}`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const pidfile = pidfilePath(stateDir, config.dataplane.mesh, config.dataplane.name);
  const leftover = await takeOverDataplane(pidfile, `${config.dataplane.mesh}.${config.dataplane.name}`);
  if (leftover) logger.warn({ envoyPid: leftover }, 'killed an Envoy a previous kuma-dp of this dataplane left running');
  if (config.dataplane.adminPort !== undefined) {
    await assertAdminAddressFree({ kind: 'tcp', host: '127.0.0.1', port: config.dataplane.adminPort });
  }

  const workDir = openWorkDir(config.configDir);

  const setpriv = process.platform === 'linux' ? findOnPath('setpriv', pathEnv) : undefined;
  if (process.platform === 'linux' && !setpriv) {
    logger.warn('setpriv (util-linux) not found: Envoy may outlive kuma-dp if kuma-dp is killed with SIGKILL');
  }
  const notify = notifyTarget(context.env, process.pid);
  const notifyBinary = notify && findOnPath('systemd-notify', pathEnv);
  if (notify && !notifyBinary) logger.warn('NOTIFY_SOCKET is set but systemd-notify is not in PATH: systemd will not learn when the dataplane is ready');
  const notifier =
    notify && notifyBinary
      ? new SystemdNotifier({ send: systemdNotifySender(notifyBinary, notify.socket, process.pid), clock: realClock, logger, watchdogMs: notify.watchdogMs })
      : undefined;
  const report = (state: State) => {
    readiness.set(readinessOf(state));
    notifier?.update(state);
  };

  logger.info(
    { cp: config.controlPlane.url.origin, envoy: binary, envoyVersion: build.version, workdir: workDir.path, readinessPort: readiness.port },
    'starting the dataplane',
  );
  const agent = agentBuild();
  const maxHeapSizeBytes = config.dataplane.maxMemoryBytes ?? cgroupMemoryLimit();
  const systemCaPath = config.dataplane.systemCaPath ?? systemCaBundle() ?? '';
  const ipv6Enabled = config.dataplane.ipv6Enabled && hasLocalIPv6();
  const features = featuresOfSettings(config.dataplane.features);
  const launch = createLauncher({
    client: {
      url: config.controlPlane.url,
      retryBackoffMs: config.controlPlane.retryBackoffMs,
      retryMaxDurationMs: config.controlPlane.retryMaxDurationMs,
      logger,
      dispatcher: controlPlaneDispatcher(config.controlPlane.url, config.controlPlane.tls),
      fatalNetworkError: tlsFailure(config.controlPlane.url, config.controlPlane.tls),
    },
    request: () =>
      buildBootstrapRequest({
        mesh: config.dataplane.mesh,
        name: config.dataplane.name,
        proxyType: config.dataplane.proxyType,
        adminPort: config.dataplane.adminPort,
        hostIp: config.dataplane.hostIp,
        metrics: config.dataplane.metrics,
        spireSocketPath: config.dataplane.spireSocketPath,
        readinessPort: readiness.port,
        envoy: build,
        agent,
        workdir: workDir.path,
        platform: process.platform,
        dataplaneResource: config.dataplane.resource,
        token: token(),
        caCert: config.controlPlane.tls.caCert,
        maxHeapSizeBytes,
        features,
        systemCaPath,
        ipv6Enabled,
      }),
    adminPort: config.dataplane.adminPort,
    readinessPort: readiness.port,
    bootstrapPath: workDir.bootstrapPath,
    pidfile,
    binary,
    args: envoyArgs({ ...config.envoy, configPath: workDir.bootstrapPath, platform: process.platform }),
    env: childEnvironment(context.env),
    setpriv,
    logger,
  });

  const supervisor = new Supervisor({
    policy: policyOf(config),
    clock: realClock,
    logger,
    launch,
    ...(app && { startApp: () => spawnChild({ binary: app.binary, args: app.args, env: childEnvironment(context.env), setpriv }) }),
    exit: (code) => exit(code, { workDir, pidfile, logger, close: () => Promise.allSettled([readiness.close(), notifier?.close()]) }),
    onChange: report,
  });
  report(supervisor.state);
  supervisor.start();
  signals.deliverTo((signal) => supervisor.signal(signal));
}

function exit(code: number, resources: { workDir: { remove(): void }; pidfile: string; logger: Logger; close(): Promise<unknown> }): void {
  resources.workDir.remove();
  clearPidfile(resources.pidfile);
  resources.logger.info({ exitCode: code }, 'kuma-dp stopped');
  // systemd must still get the last notifications (STOPPING=1, the final STATUS=) before we go.
  void resources.close().finally(() => process.exit(code));
}

// The process-wide part of kuma-dp, apart from each dataplane (as Istio's agent is apart from each
// proxy): the readiness endpoint, systemd's notifications, signals, the logger.
import { startDataplane, type DataplaneSpec } from '../dataplane/dataplane.js';
import { createLogger } from '../logging/logger.js';
import { notifyTarget, SystemdNotifier, systemdNotifySender } from '../notify/systemd.js';
import { findOnPath } from '../process/lookup.js';
import { startReadinessServer } from '../readiness/server.js';
import { realClock } from '../runtime/clock.js';
import type { CapturedSignals } from './signals.js';

export interface AgentOptions {
  readonly stderrIsTTY: boolean;
  /** Signals captured since the process started, handed on once the dataplane runs. */
  readonly signals: CapturedSignals;
}

/** Runs one dataplane until it stops; resolves with the code the process should exit with. */
export async function runAgent(spec: DataplaneSpec, { stderrIsTTY, signals }: AgentOptions): Promise<number> {
  const { config, env } = spec;
  // Bound before anything starts: a taken port is a one-line error, not a half-started dataplane.
  const readiness = config.readinessPort === 0 ? undefined : await startReadinessServer({ port: config.readinessPort });
  const logger = createLogger({
    level: config.logLevel,
    base: { mesh: config.dataplane.mesh, name: config.dataplane.name },
    pretty: stderrIsTTY,
  });
  const pathEnv = env.PATH ?? '';
  const setpriv = process.platform === 'linux' ? findOnPath('setpriv', pathEnv) : undefined;
  if (process.platform === 'linux' && !setpriv) {
    logger.warn('setpriv (util-linux) not found: Envoy may outlive kuma-dp if kuma-dp is killed with SIGKILL');
  }
  const notify = notifyTarget(env, process.pid);
  const notifyBinary = notify && findOnPath('systemd-notify', pathEnv);
  if (notify && !notifyBinary) logger.warn({ event: 'notify-unavailable' }, 'NOTIFY_SOCKET is set but systemd-notify is not in PATH: systemd will not learn when the dataplane is ready');
  const notifier =
    notify && notifyBinary
      ? new SystemdNotifier({ send: systemdNotifySender(notifyBinary, notify.socket, process.pid), clock: realClock, logger, watchdogMs: notify.watchdogMs })
      : undefined;
  try {
    const dataplane = await startDataplane(spec, { logger, clock: realClock, setpriv });
    const show = ({ readiness: state, text }: { readiness: 'READY' | 'NOT_READY' | 'TERMINATING'; text: string }) => {
      readiness?.set(state);
      notifier?.update({ readiness: state, status: text });
    };
    if (dataplane.status.value) show(dataplane.status.value);
    dataplane.status.subscribe(show);
    signals.deliverTo((signal) => dataplane.signal(signal));
    const code = await dataplane.done;
    logger.info({ event: 'agent-stopped', exitCode: code }, 'kuma-dp stopped');
    return code;
  } finally {
    // systemd must still get the last notifications (STOPPING=1, the final STATUS=) before we go.
    await Promise.allSettled([readiness?.close(), notifier?.close()]);
  }
}

// The process-wide part of kuma-dp, apart from each dataplane (as Istio's agent is apart from each
// proxy): the readiness endpoint, systemd's notifications, the status endpoint, the logger. It runs
// one dataplane (`kuma-dp run`) or a fleet of them (`--dataplanes-dir`) alike.
import path from 'node:path';
import type { LogOutput } from '../config/run-config.js';
import { DnsProxies } from '../dns/proxies.js';
import { startDataplane, type Dataplane, type DataplaneSpec, type DataplaneStatus } from '../dataplane/dataplane.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { notifyTarget, SystemdNotifier, systemdNotifySender } from '../notify/systemd.js';
import { findOnPath } from '../process/lookup.js';
import { startReadinessServer, type ReadinessServer } from '../readiness/server.js';
import { realClock } from '../runtime/clock.js';
import type { Readiness } from '../runtime/readiness.js';
import { dataplaneStatus, type StatusReport } from './status-report.js';

export interface AgentSettings {
  /** The host's readiness endpoint on 127.0.0.1; 0: a free port the system picks. */
  readonly readinessPort: number;
  readonly logLevel: string;
  /** `--log-output-path`: the log goes to this rotated file instead of stderr. */
  readonly logOutput?: LogOutput;
  readonly stderrIsTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Fields on every line of the agent's own (kuma-dp run: the dataplane's mesh and name). */
  readonly logBase?: Record<string, unknown>;
}

/** One dataplane of the agent. */
export interface Member {
  readonly key: string;
  readonly mesh: string;
  readonly name: string;
  readonly dataplane: Dataplane;
  /** Settles with the dataplane's exit code once it ended and its own readiness port is closed. */
  readonly done: Promise<number>;
}

interface Entry {
  readonly member: Member;
  status?: DataplaneStatus;
  /** Set once the dataplane ended: its exit code. */
  exitCode?: number;
}

export class Agent {
  private readonly entries = new Map<string, Entry>();
  /** Said once per process, however many dataplanes share the setting or variable. */
  private readonly noticed = new Set<string>();
  private stopping = false;
  /** One DNS proxy for every dataplane of the process: they would all want its port. */
  private readonly dnsProxies: DnsProxies;

  private constructor(
    readonly logger: Logger,
    private readonly setpriv: string | undefined,
    private readonly notifier: SystemdNotifier | undefined,
    private readonly server: ReadinessServer,
  ) {
    this.dnsProxies = new DnsProxies({ logger, clock: realClock });
  }

  /** Binds the readiness port first: a taken port is a one-line error before anything starts. */
  static async start(settings: AgentSettings): Promise<Agent> {
    let agent: Agent | undefined;
    // Always on (0: a port the system picks): kuma-cp routes each dataplane's public /ready here.
    const server = await startReadinessServer({
      port: settings.readinessPort,
      readiness: (path) => (agent ? agent.readinessAt(path) : path === '' ? 'NOT_READY' : undefined),
      status: () => agent?.statusReport() ?? { readiness: 'NOT_READY', dataplanes: [] },
    });
    const logger = createLogger({
      level: settings.logLevel,
      base: settings.logBase ?? {},
      pretty: settings.stderrIsTTY,
      ...(settings.logOutput && { file: settings.logOutput }),
    });
    // As Go kuma-dp says it, on stdout.
    if (settings.logOutput) process.stdout.write(`kuma-dp: logs will be stored in ${JSON.stringify(path.resolve(settings.logOutput.path))}\n`);
    const pathEnv = settings.env.PATH ?? '';
    const setpriv = process.platform === 'linux' ? findOnPath('setpriv', pathEnv) : undefined;
    if (process.platform === 'linux' && !setpriv) {
      logger.warn('setpriv (util-linux) not found: Envoy may outlive kuma-dp if kuma-dp is killed with SIGKILL');
    }
    const notify = notifyTarget(settings.env, process.pid);
    const notifyBinary = notify && findOnPath('systemd-notify', pathEnv);
    if (notify && !notifyBinary) {
      logger.warn({ event: 'notify-unavailable' }, 'NOTIFY_SOCKET is set but systemd-notify is not in PATH: systemd will not learn when the dataplane is ready');
    }
    const notifier =
      notify && notifyBinary
        ? new SystemdNotifier({ send: systemdNotifySender(notifyBinary, notify.socket, process.pid), clock: realClock, logger, watchdogMs: notify.watchdogMs })
        : undefined;
    agent = new Agent(logger, setpriv, notifier, server);
    return agent;
  }

  /**
   * Starts a dataplane. `readinessPort` gives it a readiness endpoint of its own (a fleet's
   * per-dataplane port); what fails before it runs (a taken port, a leftover Envoy) is thrown.
   */
  async add(key: string, spec: DataplaneSpec, options: { readonly readinessPort?: number; readonly logger?: Logger } = {}): Promise<Member> {
    const { mesh, name } = spec.config.dataplane;
    const logger = options.logger ?? this.logger.child({ mesh, name });
    for (const notice of spec.config.notices.filter((text) => !this.noticed.has(text))) {
      this.noticed.add(notice);
      logger.warn({ event: 'setting-ignored' }, notice);
    }
    let entry: Entry | undefined;
    const own =
      options.readinessPort !== undefined
        ? await startReadinessServer({
          port: options.readinessPort,
          readiness: (path) => (path !== '' ? undefined : entry?.exitCode === undefined ? (entry?.status?.readiness ?? 'NOT_READY') : 'TERMINATING'),
        })
      : undefined;
    let dataplane: Dataplane;
    try {
      dataplane = await startDataplane(spec, { logger, clock: realClock, setpriv: this.setpriv, readinessPort: own?.port ?? this.server.port, dnsProxies: this.dnsProxies });
    } catch (error) {
      await own?.close();
      throw error;
    }
    const done = dataplane.done.then(async (code) => {
      current.exitCode = code;
      await own?.close();
      this.report();
      return code;
    });
    const current: Entry = { member: { key, mesh, name, dataplane, done }, status: dataplane.status.value };
    entry = current;
    this.entries.set(key, current);
    dataplane.status.subscribe((status) => {
      current.status = status;
      this.report();
    });
    this.report();
    return current.member;
  }

  /** Forgets an ended dataplane (its file was removed, or it is started anew). */
  forget(key: string): void {
    this.entries.delete(key);
    this.report();
  }

  get members(): readonly Member[] {
    return [...this.entries.values()].map((entry) => entry.member);
  }

  /** From a stop of the whole agent on, the host's readiness is TERMINATING. */
  beginStop(): void {
    this.stopping = true;
    this.report();
  }

  /** Closes the readiness endpoint and says the last word to systemd. */
  async close(): Promise<void> {
    await Promise.allSettled([this.server.close(), this.notifier?.close()]);
  }

  /**
   * The host's readiness: READY when every running dataplane is ready. A dataplane that ended on
   * its own (a crash loop) does not hold the others back: the status says it ended.
   */
  private get readiness(): Readiness {
    const entries = [...this.entries.values()];
    const running = entries.filter((entry) => entry.exitCode === undefined);
    if (this.stopping || (entries.length > 0 && running.every((entry) => entry.status?.readiness === 'TERMINATING'))) return 'TERMINATING';
    return running.length > 0 && running.every((entry) => entry.status?.readiness === 'READY') ? 'READY' : 'NOT_READY';
  }

  /** '' is the host; `<mesh>/<name>` one dataplane; anything else names nothing. */
  readinessAt(path: string): Readiness | undefined {
    if (path === '') return this.readiness;
    const entry = [...this.entries.values()].find(({ member }) => `${member.mesh}/${member.name}` === path);
    if (!entry) return undefined;
    return entry.exitCode === undefined ? (entry.status?.readiness ?? 'NOT_READY') : 'TERMINATING';
  }

  statusReport(): StatusReport {
    const now = Date.now();
    return { readiness: this.readiness, dataplanes: [...this.entries.values()].map((entry) => dataplaneStatus(entry.member, entry.exitCode, now)) };
  }

  private report(): void {
    if (!this.notifier) return;
    const entries = [...this.entries.values()];
    // One dataplane speaks for itself; a fleet says how many are ready, and which ended.
    const text = entries.length === 1 && entries[0]!.status ? entries[0]!.status.text : fleetText(entries);
    this.notifier.update({ readiness: this.readiness, status: text });
  }
}

function fleetText(entries: readonly Entry[]): string {
  const ended = entries.filter((entry) => entry.exitCode !== undefined);
  const ready = entries.filter((entry) => entry.exitCode === undefined && entry.status?.readiness === 'READY').length;
  const endedText = ended.length ? `; ended: ${ended.map(({ member, exitCode }) => `${member.mesh}/${member.name} (exit ${exitCode})`).join(', ')}` : '';
  return `${ready} of ${entries.length - ended.length} dataplanes ready${endedText}`;
}

import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Readiness } from '../runtime/readiness.js';

/** Where systemd listens, from the variables it sets for a `Type=notify` service. */
export interface NotifyTarget {
  readonly socket: string;
  /** Set when systemd expects WATCHDOG=1 pings from this process within this many ms. */
  readonly watchdogMs?: number;
}

export function notifyTarget(env: Readonly<Record<string, string | undefined>>, pid: number): NotifyTarget | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  // WATCHDOG_PID names the process systemd watches; when it is another one, the pings are not ours to send.
  const ours = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === pid;
  return { socket, ...(ours && Number.isSafeInteger(usec) && usec > 0 && { watchdogMs: usec / 1000 }) };
}

/** Sends one datagram of newline-separated assignments to systemd. */
export type Send = (assignments: readonly string[]) => Promise<void>;

/**
 * Node has no AF_UNIX datagram sockets, so the datagrams go through systemd's own
 * `systemd-notify`. It runs as a short-lived child, which is why the unit needs
 * `NotifyAccess=all`; `--pid` names the agent as the service's main process, and the default
 * blocking mode waits until systemd has read the message, so it is never attributed to a
 * process that is already gone.
 *
 * execa is imported on the first message, not with this module: an agent that systemd does not
 * ask for notifications (no NOTIFY_SOCKET) never loads it (a few MB of idle RSS; see README).
 */
export function systemdNotifySender(binary: string, socket: string, pid: number): Send {
  return async (assignments) => {
    const { execa } = await import('execa');
    await execa(binary, [`--pid=${pid}`, ...assignments], {
      env: { NOTIFY_SOCKET: socket },
      extendEnv: false,
      stdin: 'ignore',
      timeout: 5000,
    });
  };
}

export interface NotifierOptions {
  readonly send: Send;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly watchdogMs?: number;
}

/**
 * Tells systemd what the supervisor's states mean: READY=1 the first time the dataplane is
 * ready, STATUS= when the text changes, STOPPING=1 from the first stop on, and WATCHDOG=1 pings.
 * Messages go out one at a time, in order, since each is a separate process.
 */
export class SystemdNotifier {
  private queue: Promise<void> = Promise.resolve();
  private readySent = false;
  private stoppingSent = false;
  private status?: string;
  private healthy = true;
  private watchdogTimer?: unknown;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: NotifierOptions) {
    if (options.watchdogMs !== undefined) this.scheduleWatchdog(options.watchdogMs / 2);
  }

  /** What the agent reports: its readiness, and one line for `systemctl status`. */
  update(report: { readonly readiness: Readiness; readonly status: string }): void {
    const assignments: string[] = [];
    const ready = report.readiness === 'READY';
    if (!this.readySent && ready) {
      this.readySent = true;
      assignments.push('READY=1');
    }
    const stopping = report.readiness === 'TERMINATING';
    if (stopping && !this.stoppingSent) {
      this.stoppingSent = true;
      assignments.push('STOPPING=1');
    }
    if (report.status !== this.status) {
      this.status = report.status;
      assignments.push(`STATUS=${report.status}`);
    }
    // Until first ready, TimeoutStartSec= guards the start; after it, an Envoy that is down or no
    // longer live for longer than WatchdogSec= gets the whole unit restarted. A stop has its own
    // timers (drain, kill) and TimeoutStopSec=.
    this.healthy = ready || !this.readySent || stopping;
    if (assignments.length > 0) this.enqueue(assignments);
  }

  /** Stops the pings and waits (at most timeoutMs) for the messages already queued. */
  async close(timeoutMs = 3000): Promise<void> {
    this.closed = true;
    if (this.watchdogTimer !== undefined) this.options.clock.clearTimeout(this.watchdogTimer);
    let timer: unknown;
    await Promise.race([this.queue, new Promise<void>((resolve) => (timer = this.options.clock.setTimeout(resolve, timeoutMs)))]);
    this.options.clock.clearTimeout(timer);
  }

  private scheduleWatchdog(intervalMs: number): void {
    this.watchdogTimer = this.options.clock.setTimeout(() => {
      if (this.closed) return;
      if (this.healthy) this.enqueue(['WATCHDOG=1']);
      this.scheduleWatchdog(intervalMs);
    }, intervalMs);
  }

  private enqueue(assignments: readonly string[]): void {
    const { send, logger } = this.options;
    this.queue = this.queue.then(() =>
      send(assignments).catch((error: Error) => {
        // Once is enough to explain it; repeating it every watchdog interval would flood the log.
        if (this.failures++ === 0) logger.warn({ err: error.message, message: assignments }, 'could not notify systemd');
      }),
    );
  }
}

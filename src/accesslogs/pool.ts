import type { Logger } from '../logging/logger.js';
import { Throttle } from '../logging/throttle.js';
import type { Clock } from '../runtime/clock.js';
import { Backend } from './backend.js';
import { parseBackendAddress } from './parser.js';
import type { AccessLogStats } from './stats.js';

/**
 * Most backends at once. A MeshAccessLog names a handful; an Envoy configuration naming
 * thousands must not cost thousands of connections and buffers, so the least recently used
 * backend is closed to make room.
 */
export const MAX_BACKENDS = 16;
const WARN_INTERVAL_MS = 30_000;

export interface PoolOptions {
  readonly bufferBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stats: AccessLogStats;
}

/** The backends by address; lines are routed in, and sent when `service()` is called. */
export class BackendPool {
  private readonly backends = new Map<string, Backend>();
  private readonly touched = new Set<Backend>();
  private uses = 0;
  private readonly limitWarning: Throttle;

  constructor(private readonly options: PoolOptions) {
    this.limitWarning = new Throttle(WARN_INTERVAL_MS, () => options.clock.now());
  }

  /**
   * Adds the message `bytes[start, end)` for the backend at `address`; false when the address is
   * not host:port.
   */
  route(address: string, bytes: Buffer, start: number, end: number): boolean {
    const backend = this.backends.get(address) ?? this.open(address);
    if (!backend) return false;
    backend.lastUsed = ++this.uses;
    backend.push(bytes, start, end);
    this.touched.add(backend);
    return true;
  }

  /**
   * Sends what was routed since the last call: one write per backend for a whole read. Must be
   * called before the bytes the messages were read into are reused.
   */
  service(): void {
    for (const backend of this.touched) backend.service();
    this.touched.clear();
  }

  /** Tries to send what waits for up to `ms`, then closes every connection, dropping what is left. */
  async drain(ms: number): Promise<void> {
    this.service();
    const { clock } = this.options;
    let timer: unknown;
    const deadline = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
    for (const backend of this.backends.values()) backend.hurry();
    await Promise.race([Promise.all([...this.backends.values()].map((backend) => backend.whenIdle())), deadline]);
    clock.clearTimeout(timer);
    const dropped = this.close();
    if (dropped > 0) this.options.logger.warn({ event: 'access-log-lines-dropped', droppedLines: dropped, withinMs: ms }, 'access-log lines not sent before the stop');
  }

  /** Closes every connection at once; returns how many lines were dropped. */
  close(): number {
    const dropped = [...this.backends.values()].reduce((sum, backend) => sum + backend.close(), 0);
    this.backends.clear();
    this.touched.clear();
    return dropped;
  }

  private open(address: string): Backend | undefined {
    const target = parseBackendAddress(address);
    if (!target) return undefined;
    if (this.backends.size >= MAX_BACKENDS) this.evict();
    const backend = new Backend({ address, ...target, ...this.options });
    this.backends.set(address, backend);
    return backend;
  }

  private evict(): void {
    let oldest: [string, Backend] | undefined;
    for (const entry of this.backends) if (!oldest || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
    const [address, backend] = oldest!;
    this.backends.delete(address);
    this.touched.delete(backend);
    const droppedLines = backend.close();
    this.limitWarning.warn(this.options.logger, 'limit', { event: 'access-log-backend-closed', address, droppedLines, maxBackends: MAX_BACKENDS },
      'too many access-log backends: closed the least recently used');
  }
}

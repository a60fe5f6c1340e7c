import net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { Throttle } from '../logging/throttle.js';
import type { Clock } from '../runtime/clock.js';
import { MessageQueue, PendingMessages, type Block } from './queue.js';
import type { AccessLogStats } from './stats.js';

/** As Go kuma-dp's sender. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Waits before reconnecting to a backend that could not be reached: 1s, doubling up to 30s. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/**
 * Most bytes joined into one write, and most bytes left in the connection's own buffer: beyond
 * that a slow backend's lines wait in the queue, where the buffer bound applies.
 */
const BATCH_BYTES = 64 * 1024;
const WARN_INTERVAL_MS = 30_000;

export interface BackendOptions {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Most bytes of lines kept while the backend is down or slow; 0 keeps none. */
  readonly bufferBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stats: AccessLogStats;
}

/**
 * One TCP log collector: a connection opened on first use and kept, and the lines waiting for it.
 * While it is down or slow, lines wait in memory up to the buffer, oldest dropped first; a line
 * never waits on the connection, so Envoy never waits on the backend.
 */
export class Backend {
  /** Order of last use among the backends, to close the least recently used one. */
  lastUsed = 0;
  private readonly queue: MessageQueue;
  private socket?: net.Socket;
  private connected = false;
  /** Handed to the connection, not yet written to the kernel: put back if the connection fails. */
  private inFlight: Block[] = [];
  private readonly pending = new PendingMessages();
  private wroteSinceConnect = false;
  private failures = 0;
  private nextAttemptAt = 0;
  private retry?: unknown;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly warnings: Throttle;

  constructor(private readonly options: BackendOptions) {
    this.queue = new MessageQueue(options.stats);
    this.warnings = new Throttle(WARN_INTERVAL_MS, () => options.clock.now());
  }

  /** Adds the message `bytes[start, end)`; `service()` sends it, before those bytes are reused. */
  push(bytes: Buffer, start: number, end: number): void {
    this.pending.add(bytes, start, end);
  }

  /**
   * Sends what the connection takes now, connects when needed, and drops the oldest messages
   * beyond the buffer. What is added since the last call goes straight to the connection when
   * nothing waits before it, else into the queue, copied out of the bytes it was read in.
   */
  service(): void {
    if (this.closed) return;
    if (this.pending.count > 0) {
      const block = this.pending.take();
      if (this.connected && this.queue.length === 0 && this.socket!.writableLength < BATCH_BYTES) this.send(block);
      else this.queue.push(owned(block));
    }
    if (this.connected) this.pump();
    else this.ensureConnection();
    this.trim();
  }

  /** Connects at once if lines wait, whatever the backoff: the agent is stopping. */
  hurry(): void {
    if (this.retry !== undefined) this.options.clock.clearTimeout(this.retry);
    this.retry = undefined;
    this.nextAttemptAt = 0;
    this.service();
  }

  /** Settles once every queued line was written to the connection. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes the connection; the lines still waiting are dropped and counted. Returns how many. */
  close(): number {
    this.closed = true;
    if (this.retry !== undefined) this.options.clock.clearTimeout(this.retry);
    this.retry = undefined;
    const socket = this.socket;
    this.socket = undefined;
    const dropped = this.queue.clear() + this.pending.take().sizes.length + this.inFlight.reduce((sum, block) => sum + block.sizes.length, 0);
    this.inFlight = [];
    this.options.stats.dropped += dropped;
    // With nothing left to write, end() lets the kernel deliver the last lines before the FIN.
    if (dropped === 0) socket?.end(() => socket.destroy());
    else socket?.destroy();
    this.notifyIdle();
    return dropped;
  }

  private get idle(): boolean {
    return this.closed || (this.queue.length === 0 && this.pending.count === 0 && this.inFlight.length === 0);
  }

  private pump(): void {
    while (this.queue.length > 0 && this.socket!.writableLength < BATCH_BYTES) this.send(this.queue.take(BATCH_BYTES));
    this.notifyIdle();
  }

  private send(block: Block): void {
    const socket = this.socket!;
    this.inFlight.push(block);
    socket.write(block.data, (error) => this.written(socket, error));
  }

  private written(socket: net.Socket, error: Error | null | undefined): void {
    // A failed write is handled when the connection closes: its lines go back to the queue.
    if (error || socket !== this.socket) return;
    const block = this.inFlight.shift()!;
    this.options.stats.sent += block.sizes.length;
    this.wroteSinceConnect = true;
    this.failures = 0;
    this.pump();
  }

  private trim(): void {
    let dropped = 0;
    while (this.queue.bytes > this.options.bufferBytes) {
      this.queue.dropOldest();
      dropped += 1;
    }
    if (dropped === 0) return;
    this.options.stats.dropped += dropped;
    const { address, bufferBytes, logger } = this.options;
    this.warnings.warn(logger, 'full', { event: 'access-log-lines-dropped', address, droppedLines: dropped, bufferBytes }, 'access-log buffer full: dropped the oldest lines');
  }

  private ensureConnection(): void {
    if (this.socket || this.retry !== undefined || this.queue.length === 0) return;
    const { clock } = this.options;
    const wait = this.nextAttemptAt - clock.now();
    if (wait > 0) {
      this.retry = clock.setTimeout(() => {
        this.retry = undefined;
        this.service();
      }, wait);
      return;
    }
    this.connect();
  }

  private connect(): void {
    const { host, port, clock } = this.options;
    const socket = net.connect({ host, port });
    this.socket = socket;
    this.connected = false;
    this.wroteSinceConnect = false;
    socket.setNoDelay(true);
    let failure: Error | undefined;
    const timer = clock.setTimeout(() => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS}ms`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      this.connected = true;
      this.options.logger.info(
        { event: 'access-log-backend-connected', address: this.options.address, bufferedLines: this.queue.length },
        'connected to the access-log backend',
      );
      this.service();
    });
    socket.on('error', (error) => (failure = error));
    // A log collector has nothing to say; whatever it sends is read and thrown away.
    socket.resume();
    socket.once('close', () => {
      clock.clearTimeout(timer);
      this.disconnected(socket, failure);
    });
  }

  private disconnected(socket: net.Socket, failure: Error | undefined): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const wasConnected = this.connected;
    this.connected = false;
    this.queue.unshift(this.inFlight.map(owned));
    this.inFlight = [];
    const { clock, logger, address } = this.options;
    // A connection that took lines and then broke is reopened at once; one that took nothing
    // (refused, timed out, closed at once) is retried with backoff, not once per line.
    if (this.wroteSinceConnect) {
      this.nextAttemptAt = clock.now();
    } else {
      this.failures += 1;
      this.nextAttemptAt = clock.now() + Math.min(RETRY_BASE_MS * 2 ** (this.failures - 1), RETRY_MAX_MS);
    }
    const fields = { event: 'access-log-backend-down', address, err: failure?.message ?? 'closed by the backend', bufferedLines: this.queue.length };
    this.warnings.warn(logger, 'down', fields, wasConnected ? 'lost the connection to the access-log backend' : 'cannot connect to the access-log backend');
    this.service();
  }

  private notifyIdle(): void {
    if (!this.idle || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The block with memory of its own: a view of the pipe's chunk must not keep the chunk alive. */
function owned(block: Block): Block {
  return { data: Buffer.from(block.data), sizes: block.sizes };
}

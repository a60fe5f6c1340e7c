import { readSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { ThrottledWarning } from '../logging/throttle.js';
import type { Clock } from '../runtime/clock.js';
import type { Component, ComponentContext, Running } from '../runtime/component.js';
import { parseLine } from './entry.js';
import { openFifo, removeFifo, replaceWithFifo, type OpenPipe } from './fifo.js';
import { LineSplitter } from './lines.js';
import { BackendPool } from './pool.js';
import { AccessLogStats } from './stats.js';

/** What kuma-cp needs to hear before it points Envoy's TCP access logs at the pipe. */
export const ACCESS_LOG_FEATURE = 'feature-tcp-accesslog-via-named-pipe';
/** The default of --access-log-buffer. */
export const DEFAULT_BUFFER_BYTES = 1024 * 1024;
/** On stop, how long lines may still take to reach their backends. */
export const STOP_FLUSH_MS = 1_000;
const BAD_LINE_WARN_INTERVAL_MS = 10_000;
/** At stop, the most bytes still read from the pipe: more than a pipe holds. */
const FINAL_READ_BYTES = 4 * 1024 * 1024;

export interface AccessLogStreamerOptions {
  /** The FIFO Envoy writes into: `accessLogPipePath(workDir, name, mesh)`. */
  readonly pipePath: string;
  /** Per backend, the most bytes of lines kept while it is down or slow. */
  readonly bufferBytes: number;
  readonly clock: Clock;
  /** Counts for metrics; one is made when none is given. */
  readonly stats?: AccessLogStats;
}

/**
 * The access-log streamer: Envoy's file access logger writes one entry per line into a FIFO that
 * this component makes and reads, and each entry goes to the TCP log collector it names. It is
 * resilient: if it fails, the rest of the dataplane goes on while it is restarted.
 */
export class AccessLogStreamer implements Component {
  readonly name = 'access-logs';
  readonly features = [ACCESS_LOG_FEATURE];
  readonly resilient = true;
  readonly stats: AccessLogStats;

  constructor(private readonly options: AccessLogStreamerOptions) {
    this.stats = options.stats ?? new AccessLogStats();
  }

  async start(context: ComponentContext): Promise<Running> {
    const { pipePath, bufferBytes, clock } = this.options;
    await replaceWithFifo(pipePath);
    const pipe = await openFifo(pipePath);
    const pool = new BackendPool({ bufferBytes, clock, logger: context.logger, stats: this.stats });
    const reader = new PipeReader(pipe, pool, this.stats, context.logger, clock);
    context.logger.info({ path: pipePath }, 'streaming access logs from the pipe');

    let stopping: Promise<void> | undefined;
    const ended = reader.closed.then(async (error) => {
      if (stopping) return stopping;
      await removeFifo(pipePath, pipe);
      pool.close();
      throw error;
    });
    // Only the manager's restart looks at how it ended; nothing is lost by not awaiting it here.
    ended.catch(() => undefined);
    return {
      ended,
      stop: () =>
        (stopping ??= (async () => {
          reader.finish();
          await removeFifo(pipePath, pipe);
          await pool.drain(STOP_FLUSH_MS);
        })()),
    };
  }
}

/** Reads the pipe through a non-blocking socket, line by line, into the pool. */
class PipeReader {
  /** Settles with why the pipe stopped being read, unless `finish()` stopped it. */
  readonly closed: Promise<Error>;
  private readonly socket: net.Socket;
  private readonly splitter: LineSplitter;
  private readonly badLines: ThrottledWarning;
  private finished = false;

  constructor(
    private readonly pipe: OpenPipe,
    private readonly pool: BackendPool,
    private readonly stats: AccessLogStats,
    private readonly logger: Logger,
    clock: Clock,
  ) {
    this.badLines = new ThrottledWarning(clock, BAD_LINE_WARN_INTERVAL_MS);
    this.splitter = new LineSplitter(
      (line) => this.line(line),
      () => this.drop('longer than the limit of 1MiB'),
    );
    // libuv polls the descriptor: nothing blocks, and no thread of the pool is held.
    this.socket = new net.Socket({ fd: pipe.fd, readable: true, writable: false });
    this.socket.on('data', (chunk: Buffer) => {
      this.splitter.push(chunk);
      this.pool.service();
    });
    this.closed = new Promise<Error>((resolve) => {
      this.socket.once('error', (error) => resolve(error));
      // The agent holds a write end itself, so the pipe never ends while it is read.
      this.socket.once('close', () => resolve(new Error('the access-log pipe closed')));
    }).then((error) => {
      this.socket.destroy();
      return error;
    });
  }

  /**
   * Reads what is still in the pipe (Envoy has exited by now: it stops before the streamer),
   * then closes it. A last line without its newline is dropped, as Go kuma-dp drops it.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.on('error', () => undefined);
    // Whatever the socket stream holds goes through the 'data' listener.
    while (this.socket.read() !== null);
    const buffer = Buffer.allocUnsafe(64 * 1024);
    for (let total = 0; total < FINAL_READ_BYTES; ) {
      let bytes: number;
      try {
        bytes = readSync(this.pipe.fd, buffer);
      } catch {
        break; // EAGAIN: the pipe is empty.
      }
      if (bytes === 0) break;
      this.splitter.push(buffer.subarray(0, bytes));
      total += bytes;
    }
    if (this.splitter.discardUnfinished()) this.drop('unfinished at stop');
    this.pool.service();
    this.socket.destroy();
  }

  private line(line: string): void {
    const entry = parseLine(line);
    if (!entry) return this.drop('neither JSON {"address", "message"} nor address;message');
    if (!this.pool.route(entry.address, entry.message)) this.drop(`the address ${JSON.stringify(entry.address.slice(0, 100))} is not host:port`);
  }

  private drop(why: string): void {
    this.stats.dropped += 1;
    this.badLines.warn(this.logger, { why }, 'dropped an access-log line');
  }
}

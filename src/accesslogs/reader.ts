import { isUtf8 } from 'node:buffer';
import { readSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../logging/logger.js';
import { Throttle } from '../logging/throttle.js';
import type { Clock } from '../runtime/clock.js';
import { LineParser } from './parser.js';
import type { OpenPipe } from './fifo.js';
import { LineSplitter } from './lines.js';
import type { BackendPool } from './pool.js';
import type { AccessLogStats } from './stats.js';

const BAD_LINE_WARN_INTERVAL_MS = 10_000;
/** At stop, the most bytes still read from the pipe: more than a pipe holds. */
const FINAL_READ_BYTES = 4 * 1024 * 1024;

/** Reads the pipe through a non-blocking socket, line by line, into the pool. */
export class PipeReader {
  /** Settles with why the pipe stopped being read, unless `finish()` stopped it. */
  readonly closed: Promise<Error>;
  private readonly socket: net.Socket;
  private readonly splitter: LineSplitter;
  private readonly badLines: Throttle;
  private readonly parser = new LineParser();
  /** The chunk being read, and how much of it holds messages moved to its front. */
  private chunk: Buffer = Buffer.alloc(0);
  private compacted = 0;
  /** The chunk is UTF-8 throughout, and so is every line in it: no line needs checking. */
  private utf8 = false;
  private finished = false;

  constructor(
    private readonly pipe: OpenPipe,
    private readonly pool: BackendPool,
    private readonly stats: AccessLogStats,
    private readonly logger: Logger,
    clock: Clock,
  ) {
    this.badLines = new Throttle(BAD_LINE_WARN_INTERVAL_MS, () => clock.now());
    this.splitter = new LineSplitter(
      (bytes, start, end) => this.line(bytes, start, end),
      () => this.drop('longer than the limit of 1MiB'),
    );
    // libuv polls the descriptor: nothing blocks, and no thread of the pool is held.
    this.socket = new net.Socket({ fd: pipe.fd, readable: true, writable: false });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
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
    for (let total = 0; total < FINAL_READ_BYTES; ) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      let bytes: number;
      try {
        bytes = readSync(this.pipe.fd, buffer);
      } catch {
        break; // EAGAIN: the pipe is empty.
      }
      if (bytes === 0) break;
      this.read(buffer.subarray(0, bytes));
      total += bytes;
    }
    if (this.splitter.discardUnfinished()) this.drop('unfinished at stop');
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.chunk = chunk;
    this.compacted = 0;
    this.utf8 = isUtf8(chunk);
    this.splitter.push(chunk);
    this.pool.service();
  }

  private line(bytes: Buffer, start: number, end: number): void {
    const { parser } = this;
    if (!parser.parse(bytes, start, end, bytes === this.chunk && this.utf8)) return this.drop('neither JSON {"address", "message"} nor address;message');
    let from = parser.start;
    let to = parser.end;
    if (parser.bytes === this.chunk) {
      // Messages are moved to the front of the chunk, over lines already read: a backend then
      // gets one range of bytes per chunk instead of one per line.
      this.chunk.copyWithin(this.compacted, from, to);
      to = this.compacted + to - from;
      from = this.compacted;
      this.compacted = to;
    }
    if (!this.pool.route(parser.address, parser.bytes, from, to)) this.drop(`the address ${JSON.stringify(parser.address.slice(0, 100))} is not host:port`);
  }

  private drop(why: string): void {
    this.stats.dropped += 1;
    this.badLines.warn(this.logger, 'bad-line', { event: 'access-log-lines-dropped', why }, 'dropped an access-log line');
  }
}

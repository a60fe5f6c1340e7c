import type http from 'node:http';
import { deadline, errorCode, keepAliveAgent, request, type HttpAnswer } from '../http/client.js';
import type { Lease } from './buffer-pool.js';
import { responseFormat, type SourceFormat } from './content-type.js';

/** Where one source's metrics are: an http URL, over a unix socket when socketPath is set. */
export interface ScrapeTarget {
  /** For logs: `envoy`, or the application's name or address. */
  readonly name: string;
  readonly url: string;
  readonly socketPath?: string;
}

export interface Scraped {
  /** As it came: decoded only where it must be parsed. */
  readonly body: Buffer;
  readonly format: SourceFormat;
}

/** Told, as a body arrives, that its first `length` bytes are in `text` (the same buffer each time, or a larger copy). */
export type Progress = (text: Buffer, length: number) => void;

/** Why a source contributed nothing. */
export class ScrapeError extends Error {
  constructor(
    readonly target: ScrapeTarget,
    reason: string,
  ) {
    super(`${target.name} (${target.socketPath ? `unix:${target.socketPath} ` : ''}${target.url}): ${reason}`);
    this.name = 'ScrapeError';
  }
}

/** More than any Envoy's or application's metrics; a body beyond this is cut off and dropped. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Fetches metrics over HTTP/1.1 with kept-alive connections: one pool for TCP, one per unix socket. */
export class Scraper {
  private readonly tcp = keepAliveAgent();
  private readonly sockets = new Map<string, http.Agent>();
  /** The size of each target's last answer: the next is about as large. */
  private readonly lastSizes = new Map<string, number>();

  constructor(private readonly maxBodyBytes = MAX_BODY_BYTES) {}

  private agent(socketPath: string | undefined): http.Agent {
    if (socketPath === undefined) return this.tcp;
    let agent = this.sockets.get(socketPath);
    if (!agent) {
      agent = keepAliveAgent();
      this.sockets.set(socketPath, agent);
    }
    return agent;
  }

  /**
   * GETs the target within timeoutMs; throws a ScrapeError for a failure or an answer other than
   * 200. With a lease, the body is read into one of its buffers (valid until the lease is
   * released); `progress` is told of it as it arrives.
   */
  async scrape(
    target: ScrapeTarget,
    headers: Readonly<Record<string, string>>,
    timeoutMs: number,
    lease?: Lease,
    progress?: Progress,
  ): Promise<Scraped> {
    const bound = deadline(timeoutMs);
    const signal = bound.signal;
    let answer: HttpAnswer;
    try {
      answer = await request(target.url, { agent: this.agent(target.socketPath), socketPath: target.socketPath, headers, signal });
    } catch (error) {
      bound.clear();
      throw new ScrapeError(target, signal.aborted ? `no answer within ${timeoutMs}ms` : errorCode(error));
    }
    // Destroying a body not read to its end emits an error nobody else listens for.
    answer.body.on('error', () => {});
    try {
      if (answer.statusCode !== 200) {
        const text = (await readUpTo(answer.body, 1024)).toString('utf8').trim();
        throw new ScrapeError(target, `answered ${answer.statusCode}${text ? `: ${text}` : ''}`);
      }
      const contentType = answer.headers['content-type'];
      // Not by query: a scraper's queries are not to grow the map.
      const key = `${target.socketPath ?? ''} ${target.url.split('?')[0]}`;
      const length = Number(answer.headers['content-length']);
      // A length past the bound is refused before a byte is read, or a buffer of that size made.
      if (length > this.maxBodyBytes) throw new Error(`more than ${this.maxBodyBytes} bytes of metrics`);
      const sizeHint = length || this.lastSizes.get(key) || 0;
      const take = lease ? (size: number) => lease.take(Math.max(size, sizeHint)) : progress && ((size: number) => Buffer.allocUnsafe(Math.max(size, sizeHint)));
      const body = await readAll(answer.body, this.maxBodyBytes, take, progress);
      this.lastSizes.set(key, body.length);
      return { body, format: responseFormat(contentType) };
    } catch (error) {
      if (error instanceof ScrapeError) throw error;
      throw new ScrapeError(target, signal.aborted ? `no complete answer within ${timeoutMs}ms` : errorCode(error));
    } finally {
      bound.clear();
      answer.body.destroy();
    }
  }

  /** Forgets the pools of unix sockets no longer scraped (Envoy's admin moved). */
  retainSockets(paths: ReadonlySet<string>): void {
    for (const [path, agent] of this.sockets) {
      if (paths.has(path)) continue;
      this.sockets.delete(path);
      this.lastSizes.forEach((_, key) => key.startsWith(`${path} `) && this.lastSizes.delete(key));
      agent.destroy();
    }
  }

  close(): Promise<void> {
    this.tcp.destroy();
    for (const agent of this.sockets.values()) agent.destroy();
    this.sockets.clear();
    return Promise.resolve();
  }
}

/** The first `limit` bytes of a body (an error answer's reason). */
async function readUpTo(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks);
}

/**
 * A whole body, at most `limit` bytes (past that, an error). With `take`, read into a buffer it
 * gives (a larger one when the body outgrows it), `progress` told after each chunk; else joined
 * from the chunks.
 */
async function readAll(body: AsyncIterable<Buffer>, limit: number, take?: (size: number) => Buffer, progress?: Progress): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let into = take?.(0);
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > limit) throw new Error(`more than ${limit} bytes of metrics`);
    if (into === undefined) chunks.push(chunk);
    else {
      if (size + chunk.length > into.length) {
        const larger = take!(Math.max(into.length * 2, size + chunk.length));
        into.copy(larger, 0, 0, size);
        into = larger;
      }
      chunk.copy(into, size);
      progress?.(into, size + chunk.length);
    }
    size += chunk.length;
  }
  return into === undefined ? Buffer.concat(chunks, size) : into.subarray(0, size);
}

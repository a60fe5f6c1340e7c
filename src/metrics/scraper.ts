import type { Agent } from 'node:http';
import { errorCode, keepAliveAgent, request, type HttpAnswer } from '../http/client.js';
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
  private readonly sockets = new Map<string, Agent>();

  constructor(private readonly maxBodyBytes = MAX_BODY_BYTES) {}

  private agent(socketPath: string | undefined): Agent {
    if (socketPath === undefined) return this.tcp;
    let agent = this.sockets.get(socketPath);
    if (!agent) {
      agent = keepAliveAgent();
      this.sockets.set(socketPath, agent);
    }
    return agent;
  }

  /** GETs the target within timeoutMs; throws a ScrapeError for a failure or an answer other than 200. */
  async scrape(target: ScrapeTarget, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<Scraped> {
    const signal = AbortSignal.timeout(timeoutMs);
    let answer: HttpAnswer;
    try {
      const socket = target.socketPath;
      answer = await request(target.url, { agent: this.agent(socket), ...(socket !== undefined && { socketPath: socket }), headers, signal });
    } catch (error) {
      throw new ScrapeError(target, signal.aborted ? `no answer within ${timeoutMs}ms` : errorCode(error));
    }
    // Destroying a body not read to its end emits an error nobody else listens for.
    answer.body.on('error', () => {});
    try {
      if (answer.statusCode !== 200) {
        const text = (await this.read(answer.body, 1024, true)).toString('utf8').trim();
        throw new ScrapeError(target, `answered ${answer.statusCode}${text ? `: ${text}` : ''}`);
      }
      const contentType = answer.headers['content-type'];
      const body = await this.read(answer.body, this.maxBodyBytes, false);
      return { body, format: responseFormat(Array.isArray(contentType) ? contentType[0] : contentType) };
    } catch (error) {
      if (error instanceof ScrapeError) throw error;
      throw new ScrapeError(target, signal.aborted ? `no complete answer within ${timeoutMs}ms` : errorCode(error));
    } finally {
      answer.body.destroy();
    }
  }

  /** The body up to limit bytes: cut there when `truncate`, else a body past the limit is an error. */
  private async read(body: HttpAnswer['body'], limit: number, truncate: boolean): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > limit) {
        if (!truncate) throw new Error(`more than ${limit} bytes of metrics`);
        chunks.push(buffer.subarray(0, buffer.length - (size - limit)));
        break;
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks);
  }

  /** Forgets the pools of unix sockets no longer scraped (Envoy's admin moved). */
  retainSockets(paths: ReadonlySet<string>): void {
    for (const [path, agent] of this.sockets) {
      if (paths.has(path)) continue;
      this.sockets.delete(path);
      agent.destroy();
    }
  }

  async close(): Promise<void> {
    for (const agent of [this.tcp, ...this.sockets.values()]) agent.destroy();
    this.sockets.clear();
  }
}

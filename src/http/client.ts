// The agent's HTTP client: node:http and node:https, whose parser is the llhttp inside Node. undici
// cost an idle agent 10–20 MB of resident memory (its own llhttp as WebAssembly, and the
// built-ins it loads: http2, worker_threads, webcrypto) for the same requests (README,
// Performance); these are requests to Envoy's admin, kuma-cp and local sockets, which need
// nothing node:http lacks.
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** A unix socket to connect to in place of the URL's host and port. */
  readonly socketPath?: string;
  /**
   * The pool of kept-alive connections (keepAliveAgent()); an https.Agent carries the TLS settings.
   * Without one, a connection for this request alone.
   */
  readonly agent?: http.Agent;
  /**
   * Bounds the whole exchange: headers and body. Once it fires, the request rejects, or the body
   * errors, with its reason (a TimeoutError for AbortSignal.timeout()).
   */
  readonly signal?: AbortSignal;
  /** Sending it twice does no harm: GET and HEAD are, and a caller may say so of others. */
  readonly idempotent?: boolean;
}

/** An answer whose body is still to be read, drained (resume()) or destroyed by the caller. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
}

/**
 * A signal that fires after `ms` (with a TimeoutError, as AbortSignal.timeout's) unless cleared
 * first. AbortSignal.timeout's timer cannot be cleared: it fires after every request, answered or
 * not, and builds an exception each time; for polls once a second, that was most of their cost.
 */
export function deadline(ms: number): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`The operation was aborted due to timeout`, 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** A pool that keeps idle connections open (unreferenced, so they never hold the process). */
export function keepAliveAgent(options: { readonly maxSockets?: number } = {}): http.Agent {
  return new http.Agent({ keepAlive: true, ...(options.maxSockets !== undefined && { maxSockets: options.maxSockets }) });
}

/**
 * One request; resolves once the answer's headers are in. A kept-alive connection the server
 * closed while idle fails the next request on it with ECONNRESET before any answer: an idempotent
 * request is then sent once more, on a fresh connection.
 */
export function request(url: string | URL, options: HttpRequest = {}): Promise<HttpAnswer> {
  const target = typeof url === 'string' ? new URL(url) : url;
  return send(target, options, options.idempotent ?? ['GET', 'HEAD'].includes(options.method ?? 'GET'));
}

async function send(target: URL, options: HttpRequest, retryStale: boolean): Promise<HttpAnswer> {
  const { signal } = options;
  // node:https brings node:tls, which an agent whose control plane speaks plain http never needs.
  const module = target.protocol === 'https:' ? await import('node:https') : http;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let answer: IncomingMessage | undefined;
    // http.request's own `signal` option fails a body being read with a bare ECONNRESET: here the
    // request or its body fails with the signal's reason, so a caller can tell a deadline.
    const abort = () => {
      if (answer) {
        answer.destroy(signal!.reason);
        return;
      }
      req.destroy(signal!.reason);
      // A request queued for a pooled connection reports its error only once it gets one.
      reject(signal!.reason);
    };
    const req: ClientRequest = module.request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        ...(options.socketPath !== undefined && { socketPath: options.socketPath }),
      },
      (res) => {
        answer = res;
        res.once('close', () => signal?.removeEventListener('abort', abort));
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      },
    );
    signal?.addEventListener('abort', abort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answer) return;
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) reject(signal.reason);
      else if (retryStale && req.reusedSocket && error.code === 'ECONNRESET') resolve(send(target, options, false));
      else reject(error);
    });
    req.end(options.body);
  });
}

/**
 * The code of a failed request (ECONNREFUSED, CERT_HAS_EXPIRED, …), or that of the error it wraps
 * (`cause`), or else its message.
 */
export function errorCode(error: unknown): string {
  const err = error as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | undefined;
  if (typeof err?.code === 'string') return err.code;
  if (typeof err?.cause?.code === 'string') return err.cause.code;
  return typeof err?.message === 'string' ? err.message : String(error);
}

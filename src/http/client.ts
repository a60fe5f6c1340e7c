// The agent's HTTP client: node:http and node:https, whose parser is the llhttp inside Node. undici
// cost an idle agent 10–20 MB of resident memory (its own llhttp as WebAssembly, and the
// built-ins it loads: http2, worker_threads, webcrypto) for the same requests (README,
// Performance); these are requests to Envoy's admin, kuma-cp and local sockets, which need
// nothing node:http lacks.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

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
  /** Bounds the whole exchange: headers and body. */
  readonly signal?: AbortSignal;
}

/** An answer whose body is still to be read (or destroyed) by the caller. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
}

/** A pool that keeps idle connections open (unreferenced, so they never hold the process). */
export function keepAliveAgent(options: { readonly maxSockets?: number } = {}): http.Agent {
  return new http.Agent({ keepAlive: true, ...(options.maxSockets !== undefined && { maxSockets: options.maxSockets }) });
}

/** One request; resolves once the answer's headers are in. */
export function request(url: string | URL, options: HttpRequest = {}): Promise<HttpAnswer> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const module = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = module.request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        ...(options.socketPath !== undefined && { socketPath: options.socketPath }),
        ...(options.signal && { signal: options.signal }),
      },
      (res) => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The code of a failed request (ECONNREFUSED, CERT_HAS_EXPIRED, …), or else its message. */
export function errorCode(error: unknown): string {
  const err = error as { code?: unknown; message?: unknown };
  return typeof err.code === 'string' ? err.code : typeof err.message === 'string' ? err.message : String(error);
}

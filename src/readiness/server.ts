import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import type { Readiness } from '../runtime/readiness.js';

export interface ReadinessServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ReadinessServerOptions {
  readonly port: number;
  readonly host?: string;
  /**
   * The answer for a path under /ready: '' for /ready itself, `<mesh>/<name>` for one dataplane
   * of a fleet; undefined for a path that names nothing (404).
   */
  readonly readiness: (path: string) => Readiness | undefined;
  /** GET /status: what `kuma-dp status` shows. */
  readonly status?: () => unknown;
}

/** Probes are few: a flood of connections beyond this is refused, not allowed to exhaust descriptors. */
export const READINESS_MAX_CONNECTIONS = 32;
/** A connection with no complete request, or idle, this long is closed. */
export const READINESS_IDLE_TIMEOUT_MS = 2000;

/**
 * Serves `GET /ready` from the last state it was given: answering costs no call to Envoy, so
 * probes may poll as often as they like without adding load to the sidecar.
 */
export async function startReadinessServer(options: ReadinessServerOptions): Promise<ReadinessServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer({ connectionsCheckingInterval: READINESS_IDLE_TIMEOUT_MS / 4 }, (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://readiness');
    const status = pathname === '/status' ? options.status : undefined;
    const current = pathname === '/ready' || pathname.startsWith('/ready/') ? options.readiness(pathname.slice('/ready/'.length)) : undefined;
    if (current === undefined && status === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (status) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(status())}\n`);
      return;
    }
    res.writeHead(current === 'READY' ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : current);
  });
  server.maxConnections = READINESS_MAX_CONNECTIONS;
  server.headersTimeout = READINESS_IDLE_TIMEOUT_MS;
  server.requestTimeout = READINESS_IDLE_TIMEOUT_MS;
  server.keepAliveTimeout = READINESS_IDLE_TIMEOUT_MS;
  // A socket that sends nothing at all is caught by neither of the above.
  server.setTimeout(READINESS_IDLE_TIMEOUT_MS, (socket) => socket.destroy());
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen({ host, port: options.port, exclusive: true }, () => {
      server.off('error', resolve);
      resolve(undefined);
    });
  });
  if (error?.code === 'EADDRINUSE') {
    throw new UserError(
      `readiness port ${options.port} is already in use on ${host}: another dataplane on this host may hold it; ` +
        'give each dataplane its own --readiness-port, or 0 for a free port the system picks',
    );
  }
  if (error) throw new UserError(`cannot listen on readiness port ${options.port} on ${host}: ${error.code ?? error.message}`);
  // Probes must never be what keeps a stopping agent alive.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

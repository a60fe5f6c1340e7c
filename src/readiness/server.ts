import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import type { Readiness } from '../runtime/readiness.js';

export interface ReadinessServer {
  readonly port: number;
  set(readiness: Readiness): void;
  close(): Promise<void>;
}

/**
 * Serves `GET /ready` from the last state it was given: answering costs no call to Envoy, so
 * probes may poll as often as they like without adding load to the sidecar.
 */
export async function startReadinessServer(options: { readonly port: number; readonly host?: string }): Promise<ReadinessServer> {
  const host = options.host ?? '127.0.0.1';
  let current: Readiness = 'NOT_READY';
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://readiness');
    if (pathname !== '/ready') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    res.writeHead(current === 'READY' ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : current);
  });
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
        'give each dataplane its own --readiness-port, or 0 to turn the endpoint off',
    );
  }
  if (error) throw new UserError(`cannot listen on readiness port ${options.port} on ${host}: ${error.code ?? error.message}`);
  // Probes must never be what keeps a stopping agent alive.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    set: (readiness) => {
      current = readiness;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

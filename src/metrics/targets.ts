import { isIP } from 'node:net';
import type { AdminAddress } from '../bootstrap/admin-address.js';
import type { ScrapeTarget } from './scraper.js';

const LOOPBACK = '127.0.0.1';

function hostPort(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** `http://<address>:<port><path>` with no query, as Kuma scrapes an application. */
export function applicationTarget(app: { readonly name?: string; readonly address: string; readonly port: number; readonly path: string }, defaultAddress?: string): ScrapeTarget {
  const address = app.address || defaultAddress || LOOPBACK;
  const path = app.path.startsWith('/') ? app.path : `/${app.path}`;
  return { name: app.name || hostPort(address, app.port), url: `http://${hostPort(address, app.port)}${encodeURI(path).replace(/[?#]/g, encodeURIComponent)}` };
}

/** Envoy's `/stats` with the given query, on its admin address (TCP or the CP's unix socket). */
export function envoyTarget(admin: AdminAddress, query: string): ScrapeTarget {
  const path = `/stats?${query}`;
  if (admin.kind === 'pipe') return { name: 'envoy', url: `http://localhost${path}`, socketPath: admin.path };
  // Envoy's admin listens on loopback; a wildcard address is reached there too.
  const host = admin.host === '0.0.0.0' || admin.host === '' ? LOOPBACK : admin.host === '::' ? '::1' : admin.host;
  return { name: 'envoy', url: `http://${hostPort(host, admin.port)}${path}` };
}

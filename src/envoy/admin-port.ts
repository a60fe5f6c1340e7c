import { createServer } from 'node:net';
import { UserError } from '../errors.js';
import { formatAdminAddress, type AdminAddress } from '../bootstrap/admin-address.js';

/** Binds host:port for a moment; the error when that fails, undefined when the port is free. */
export async function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  const server = createServer();
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen({ host, port, exclusive: true }, () => resolve(undefined));
  });
  await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  return error;
}

// Addresses that take in 127.0.0.1, where the readiness endpoint listens.
const LOCAL_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '0.0.0.0', '::', '']);

/**
 * Refuses an admin address another process already listens on. Envoy would fail to bind it
 * anyway, but only after the bootstrap was fetched, and with a message that does not say that
 * another dataplane on this host (each needs its own admin port) is the likely owner.
 */
export async function assertAdminAddressFree(admin: AdminAddress, readinessPort?: number): Promise<void> {
  if (admin.kind !== 'tcp') return;
  if (admin.port === readinessPort && LOCAL_HOSTS.has(admin.host)) {
    // Our own readiness endpoint holds it: blaming "another dataplane" would send the operator astray.
    throw new UserError(
      `the control plane put Envoy's admin on ${formatAdminAddress(admin)}, the port of kuma-dp's own readiness endpoint ` +
        `(--readiness-port / KUMA_READINESS_PORT, default 9902): give the readiness endpoint another port, or Envoy's admin one with --admin-port`,
    );
  }
  const error = await tryListen(admin.host, admin.port);
  if (error?.code === 'EADDRINUSE') {
    throw new UserError(
      `admin port ${admin.port} is already in use on ${admin.host}: another dataplane on this host may hold it; ` +
        'give each dataplane its own --admin-port',
    );
  }
  if (error) throw new UserError(`cannot use admin address ${formatAdminAddress(admin)}: ${error.code ?? error.message}`);
}

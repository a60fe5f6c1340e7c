import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../logging/logger.js';
import type { Transport } from './answer.js';

/** Answers one DNS message; undefined sends nothing back. Never throws. */
export type QueryHandler = (query: Buffer, transport: Transport) => Buffer | undefined | Promise<Buffer | undefined>;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Listeners {
  /** Where it listens, each address on UDP and TCP, with the ports actually bound. */
  readonly bound: readonly ListenAddress[];
  close(): Promise<void>;
}

// Bounds for DNS over TCP, as Go's miekg/dns server keeps them (8 s idle) plus a cap on
// connections and on queries in flight per connection, so that no client can hold unbounded memory.
const TCP_IDLE_MS = 8000;
const TCP_MAX_CONNECTIONS = 256;
const TCP_MAX_IN_FLIGHT = 32;

const formatAddress = ({ host, port }: ListenAddress) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * Listens on every address over UDP and TCP (resolvers retry over TCP after a truncated answer,
 * and some clients ask over TCP directly). Rejects, with nothing left bound, when an address
 * cannot be bound, except an IPv6 one on a host without IPv6, which is skipped with a warning.
 */
export async function listen(addresses: readonly ListenAddress[], handler: QueryHandler, logger: Logger): Promise<Listeners> {
  const closers: Array<() => Promise<void>> = [];
  const bound: ListenAddress[] = [];
  const closeAll = async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  };
  for (const address of addresses) {
    try {
      const both = await listenBoth(address, handler, logger);
      closers.push(both.close);
      bound.push({ host: address.host, port: both.port });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (address.host.includes(':') && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
        logger.warn({ address: formatAddress(address) }, 'IPv6 is not available on this host: the DNS proxy listens on IPv4 only');
        continue;
      }
      await closeAll();
      throw new Error(`the DNS proxy cannot listen on ${formatAddress(address)}: ${code === 'EADDRINUSE' ? 'the port is in use' : (error as Error).message}`);
    }
  }
  return { bound, close: closeAll };
}

/** UDP and TCP on one port. Port 0 (tests) takes a free UDP port, and another when TCP has that one. */
async function listenBoth(address: ListenAddress, handler: QueryHandler, logger: Logger): Promise<{ port: number; close: () => Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    const udp = await listenUdp(address, handler, logger);
    try {
      const tcp = await listenTcp({ host: address.host, port: udp.port }, handler, logger);
      return { port: udp.port, close: async () => void (await Promise.all([udp.close(), tcp()])) };
    } catch (error) {
      await udp.close();
      if (address.port !== 0 || attempt >= 10 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

function listenUdp(address: ListenAddress, handler: QueryHandler, logger: Logger): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = dgram.createSocket({ type: address.host.includes(':') ? 'udp6' : 'udp4', ipv6Only: address.host === '::' });
  const send = (response: Buffer | undefined, port: number, host: string) => {
    if (response) socket.send(response, port, host);
  };
  socket.on('message', (query, from) => {
    const answered = handler(query, 'udp');
    if (answered instanceof Promise) void answered.then((response) => send(response, from.port, from.address));
    else send(answered, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: address.host, port: address.port, exclusive: true }, () => {
      socket.off('error', reject);
      // A send to a client that went away must not end the proxy.
      socket.on('error', (error) => logger.debug({ err: error.message }, 'DNS proxy UDP socket error'));
      resolve({ port: socket.address().port, close: () => new Promise<void>((done) => socket.close(() => done())) });
    });
  });
}

function listenTcp(address: ListenAddress, handler: QueryHandler, logger: Logger): Promise<() => Promise<void>> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    serveTcp(connection, handler);
  });
  server.maxConnections = TCP_MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port, exclusive: true, ipv6Only: address.host === '::' }, () => {
      server.off('error', reject);
      server.on('error', (error) => logger.debug({ err: error.message }, 'DNS proxy TCP server error'));
      resolve(
        () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Open connections would hold close() for up to their idle time.
            for (const connection of connections) connection.destroy();
          }),
      );
    });
  });
}

/** Length-prefixed messages (RFC 1035 §4.2.2), several per connection. */
function serveTcp(connection: net.Socket, handler: QueryHandler): void {
  let pending: Buffer = Buffer.alloc(0);
  let inFlight = 0;
  connection.setTimeout(TCP_IDLE_MS, () => connection.destroy());
  connection.on('error', () => connection.destroy());
  const respond = (response: Buffer | undefined) => {
    inFlight -= 1;
    if (!response || connection.destroyed) return;
    const length = Buffer.allocUnsafe(2);
    length.writeUInt16BE(response.length);
    connection.write(Buffer.concat([length, response]));
  };
  connection.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const size = pending.readUInt16BE(0);
      if (pending.length < 2 + size) break;
      const query = pending.subarray(2, 2 + size);
      pending = pending.subarray(2 + size);
      if (inFlight >= TCP_MAX_IN_FLIGHT) {
        connection.destroy();
        return;
      }
      inFlight += 1;
      const answered = handler(query, 'tcp');
      if (answered instanceof Promise) void answered.then(respond);
      else respond(answered);
    }
  });
}

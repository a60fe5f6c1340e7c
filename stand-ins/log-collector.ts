// A stand-in for a TCP log collector (Logstash, Vector, `nc -l`), the backend of a MeshAccessLog:
// it accepts connections and keeps or counts what arrives. Used by the tests and the bench.
import net from 'node:net';

export interface LogCollectorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Keep the bytes (tests) or only count them (bench). Default: keep. */
  readonly keep?: boolean;
  /** Read nothing: a backend too slow to keep up. */
  readonly stalled?: boolean;
}

export interface LogCollector {
  readonly port: number;
  readonly address: string;
  /** Everything received, over all connections, in arrival order (when kept). */
  data(): Buffer;
  text(): string;
  readonly bytes: number;
  /** performance.now() of the first byte received. */
  readonly firstByteAt: number | undefined;
  /** Resolves with performance.now() once `bytes` in all have been received. */
  receivedBytes(bytes: number): Promise<number>;
  /** Connections accepted so far, and those still open. */
  readonly connections: number;
  readonly open: number;
  /** Closes every open connection at once (a collector that restarts), and keeps listening. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startLogCollector(options: LogCollectorOptions = {}): Promise<LogCollector> {
  const keep = options.keep ?? true;
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let bytes = 0;
  let firstByteAt: number | undefined;
  const waiters: Array<{ bytes: number; resolve: (at: number) => void }> = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (options.stalled) {
      socket.pause();
      return;
    }
    socket.on('data', (chunk: Buffer) => {
      const at = performance.now();
      firstByteAt ??= at;
      bytes += chunk.length;
      if (keep) chunks.push(chunk);
      for (const waiter of waiters.filter((w) => w.bytes <= bytes)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    data: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
    get bytes() {
      return bytes;
    },
    get firstByteAt() {
      return firstByteAt;
    },
    receivedBytes: (target) =>
      target <= bytes ? Promise.resolve(performance.now()) : new Promise((resolve) => waiters.push({ bytes: target, resolve })),
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

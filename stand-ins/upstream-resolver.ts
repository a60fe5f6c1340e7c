// A stand-in for the nameserver of /etc/resolv.conf: the DNS proxy forwards what is not a mesh
// name to it. It answers A questions with one address, and can fail as real resolvers do.
import dgram from 'node:dgram';
import packet from 'dns-packet';

export type UpstreamMode =
  /** A questions get `ip` with `ttl`; other types an empty NOERROR. */
  | { readonly kind: 'answer'; readonly ip: string; readonly ttl: number }
  /** Every question gets SERVFAIL. */
  | { readonly kind: 'servfail' }
  /** Nothing comes back. */
  | { readonly kind: 'silent' };

export interface UpstreamResolver {
  readonly address: string;
  readonly port: number;
  /** The questions it was asked, in order. */
  readonly questions: Array<{ name: string; type: string }>;
  setMode(mode: UpstreamMode): void;
  close(): Promise<void>;
}

/**
 * Listens on `host`:`port`. resolv.conf cannot name a port, so a proxy under test reaches it only
 * on 53: tests give each resolver its own loopback address (127.0.0.0/8 is all local on Linux).
 */
export async function startUpstreamResolver(mode: UpstreamMode, host: string, port = 53): Promise<UpstreamResolver> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const questions: Array<{ name: string; type: string }> = [];
  let current = mode;
  socket.on('message', (message, from) => {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    questions.push({ name: question.name, type: question.type });
    if (current.kind === 'silent') return;
    const answers: packet.Answer[] =
      current.kind === 'answer' && question.type === 'A' ? [{ type: 'A', name: question.name, ttl: current.ttl, class: 'IN', data: current.ip }] : [];
    const rcode = current.kind === 'servfail' ? 2 : 0;
    const flags = (query.flags ?? 0) & packet.RECURSION_DESIRED;
    const reply = packet.encode({ type: 'response', id: query.id, flags: flags | packet.RECURSION_AVAILABLE | rcode, questions: [question], answers });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    address: host,
    port: socket.address().port,
    questions,
    setMode: (next) => (current = next),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

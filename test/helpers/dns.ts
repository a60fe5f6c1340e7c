import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import packet from 'dns-packet';
import { startUpstreamResolver, type UpstreamMode, type UpstreamResolver } from '../../stand-ins/upstream-resolver.js';

/** dns-packet decodes the rcode too; its types leave it out. */
export type Answer = packet.DecodedPacket & { rcode: string };

export function encodeQuery(name: string, type: packet.RecordType, id = Math.floor(Math.random() * 65536)): Buffer {
  return packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

/** Sends raw bytes over UDP and resolves with the first datagram back, or undefined after timeoutMs. */
export function exchangeUdp(message: Buffer, port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    socket.on('message', (answer) => done(answer));
    socket.send(message, port, host);
  });
}

export async function queryUdp(name: string, type: packet.RecordType, port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<Answer> {
  const answer = await exchangeUdp(encodeQuery(name, type), port, host, timeoutMs);
  if (!answer) throw new Error(`no UDP answer for ${name} ${type} from ${host}:${port} within ${timeoutMs}ms`);
  return packet.decode(answer) as Answer;
}

/** One query over a fresh TCP connection, length-prefixed. */
export function queryTcp(name: string, type: packet.RecordType, port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const connection = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      connection.destroy();
      reject(new Error(`no TCP answer for ${name} ${type} within ${timeoutMs}ms`));
    }, timeoutMs);
    connection.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    connection.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        clearTimeout(timer);
        connection.end();
        resolve(packet.decode(received.subarray(2, 2 + received.readUInt16BE(0))) as Answer);
      }
    });
    connection.write(packet.streamEncode({ type: 'query', id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] }));
  });
}

/** The answer's addresses, in order. */
export const addressesOf = (answer: Answer) => (answer.answers ?? []).map((record) => (record as { data: unknown }).data);

/**
 * A stand-in upstream nameserver on port 53 of a loopback address of its own (resolv.conf cannot
 * name another port), and a resolv.conf in `dir` naming it.
 */
export async function upstreamWithResolvConf(dir: string, mode: UpstreamMode, file = 'resolv.conf'): Promise<{ upstream: UpstreamResolver; resolvConf: string }> {
  for (let attempt = 0; ; attempt++) {
    const host = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    try {
      const upstream = await startUpstreamResolver(mode, host);
      const resolvConf = path.join(dir, file);
      writeFileSync(resolvConf, `# written by a test\nsearch example.internal\nnameserver ${host}\nnameserver 127.0.0.1\n`);
      return { upstream, resolvConf };
    } catch (error) {
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

/** A VIP of its own per test run: kuma-cp allocates bind-outbounds VIPs in 127.x ranges. */
export const vip = () => `127.2.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

/** The A records a name resolves to over UDP; none when the query fails. */
export async function resolves(name: string, port: number): Promise<unknown[]> {
  try {
    return addressesOf(await queryUdp(name, 'A', port, '127.0.0.1', 1000));
  } catch {
    return [];
  }
}

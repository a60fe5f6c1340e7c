import dgram from 'node:dgram';
import type { Upstream } from './resolv-conf.js';

/** How long an upstream has to answer before the client gets SERVFAIL: Go's miekg/dns client timeout. */
export const UPSTREAM_TIMEOUT_MS = 2000;

/**
 * Sends one query upstream over UDP, as Go kuma-dp does, and resolves with the answer's bytes as
 * they came. Each query gets its own socket and so a fresh random source port, which makes a
 * spoofed answer as hard to slip in as with any stub resolver; datagrams from anywhere else, or
 * with another id, are ignored.
 */
export function exchange(query: Buffer, upstream: Upstream, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(upstream.family === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const host = upstream.address.split('%')[0]!;
    let done = false;
    const finish = (error: Error | undefined, answer?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${upstream.address}:${upstream.port} within ${timeoutMs}ms`)), timeoutMs);
    socket.on('error', (error) => finish(error));
    socket.on('message', (answer, from) => {
      if (from.port !== upstream.port || from.address.split('%')[0] !== host) return;
      if (answer.length < 12 || answer.readUInt16BE(0) !== id || (answer[2]! & 0x80) === 0) return;
      finish(undefined, answer);
    });
    socket.send(query, upstream.port, upstream.address);
  });
}

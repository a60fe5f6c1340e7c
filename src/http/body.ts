import type { HttpAnswer } from './client.js';

/** The answer was longer than the caller allows: the connection was dropped, not read on. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * An answer's body as text, read to its end but never past `limit` bytes: every answer the agent
 * reads comes from a peer it does not control (kuma-cp, Envoy, an app, another agent).
 */
export async function readBody(answer: HttpAnswer, limit: number): Promise<string> {
  if (Number(answer.headers['content-length']) > limit) {
    answer.body.destroy();
    throw new BodyTooLarge(limit);
  }
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      answer.body.destroy();
      throw new BodyTooLarge(limit);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts, size).toString('utf8');
}

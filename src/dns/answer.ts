import packet from 'dns-packet';
import type { RecordTable } from './records.js';

// What the proxy does with one query, decided from its bytes and the local names, with no I/O.
// dns-packet reads and writes the wire format; the answer carries the query's own question
// bytes, so it echoes the name exactly as asked (case included).

export type QueryType = 'A' | 'AAAA' | 'other';
export type Transport = 'udp' | 'tcp';

export type Decision =
  /** A name of the table: answered here, authoritatively. */
  | { readonly kind: 'local'; readonly qtype: QueryType; readonly response: Buffer }
  /** Not ours: the query goes upstream as it came. */
  | { readonly kind: 'forward'; readonly qtype: QueryType; readonly query: DecodedQuery }
  /** Malformed or unsupported: an error answer (FORMERR, NOTIMP) without a lookup. */
  | { readonly kind: 'refuse'; readonly response: Buffer }
  /** Not a query at all (too short, or a response): nothing is sent back. */
  | { readonly kind: 'drop' };

/** What an answer to a query needs of it. */
export interface DecodedQuery {
  readonly id: number;
  readonly flags: number;
  /** The question's bytes as received. */
  readonly question: Buffer;
}

const OPCODE_QUERY = 0;
const OPCODE_NOTIFY = 4;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const HEADER_BYTES = 12;
// Without EDNS in the answer, a UDP client reads at most 512 bytes (RFC 1035 §4.2.1).
const UDP_ANSWER_BYTES = 512;

// dns-packet's question codec tells how many bytes the question it last read took.
const questionCodec = (packet as unknown as { question: { decode: { bytes: number } } }).question;

export function decide(query: Buffer, table: RecordTable, transport: Transport): Decision {
  if (query.length < HEADER_BYTES || (query[2]! & 0x80) !== 0) return { kind: 'drop' };
  let decoded: packet.DecodedPacket;
  try {
    decoded = packet.decode(query);
  } catch {
    return { kind: 'refuse', response: errorAnswer(query, RCODE.FORMERR) };
  }
  const opcode = ((decoded.flags ?? 0) >> 11) & 0xf;
  // As Go's miekg/dns server accepts messages: one question, QUERY or NOTIFY.
  if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) return { kind: 'refuse', response: errorAnswer(query, RCODE.NOTIMP) };
  if (decoded.questions?.length !== 1) return { kind: 'refuse', response: errorAnswer(query, RCODE.FORMERR) };
  const asked = decoded.questions[0]!;
  const info: DecodedQuery = { id: decoded.id ?? 0, flags: decoded.flags ?? 0, question: query.subarray(HEADER_BYTES, HEADER_BYTES + questionCodec.decode.bytes) };
  const qtype: QueryType = asked.type === 'A' || asked.type === 'AAAA' ? asked.type : 'other';
  const entry = qtype === 'other' || asked.class !== 'IN' ? undefined : table.lookup(asked.name);
  if (!entry) return { kind: 'forward', qtype, query: info };
  const ips = qtype === 'A' ? entry.a : entry.aaaa;
  const answers = ips.map((ip) => ({ type: qtype as 'A' | 'AAAA', name: asked.name, ttl: entry.ttl, class: 'IN' as const, data: ip }));
  let response = reply(info, RCODE.NOERROR, true, answers);
  if (transport === 'udp' && response.length > UDP_ANSWER_BYTES) response = reply(info, RCODE.NOERROR, true, [], true);
  return { kind: 'local', qtype, response };
}

/** SERVFAIL for a query that could not be forwarded. */
export function serverFailure(query: DecodedQuery): Buffer {
  return reply(query, RCODE.SERVFAIL, false, []);
}

/** The rcode of an answer, for the metrics. */
export function rcodeOf(response: Buffer): number {
  return response.length >= 4 ? response[3]! & 0x0f : RCODE.SERVFAIL;
}

/**
 * An answer as Go's miekg/dns SetReply builds it: the query's id, opcode, RD and CD bits and
 * first question; QR set.
 */
function reply(query: DecodedQuery, rcode: number, authoritative: boolean, answers: packet.Answer[], truncated = false): Buffer {
  const opcode = (query.flags >> 11) & 0xf;
  let flags = (opcode << 11) | rcode;
  if (opcode === OPCODE_QUERY) flags |= query.flags & (packet.RECURSION_DESIRED | packet.CHECKING_DISABLED);
  if (authoritative) flags |= packet.AUTHORITATIVE_ANSWER;
  if (truncated) flags |= packet.TRUNCATED_RESPONSE;
  const encoded = packet.encode({ type: 'response', id: query.id, flags, answers });
  const response = Buffer.concat([encoded.subarray(0, HEADER_BYTES), query.question, encoded.subarray(HEADER_BYTES)]);
  response.writeUInt16BE(query.question.length > 0 ? 1 : 0, 4);
  return response;
}

/** An error answer to a query dns-packet could not (or need not) read past its header. */
function errorAnswer(query: Buffer, rcode: number): Buffer {
  return reply({ id: query.readUInt16BE(0), flags: query.readUInt16BE(2) & 0x7fff, question: Buffer.alloc(0) }, rcode, false, []);
}

import { isUtf8 } from 'node:buffer';

/**
 * One access-log entry as Envoy writes it into the pipe: where it goes and the bytes to send.
 * `message` may share memory with the line it came from.
 */
export interface LogEntry {
  readonly address: string;
  readonly message: Buffer;
}

const SEMICOLON = 0x3b;
const JSON_HEAD = Buffer.from('{"address":"');
const JSON_MIDDLE = Buffer.from('","message":"');
const JSON_TAIL = Buffer.from('\\n"}');

/**
 * Reads one line, `bytes[start, end)` followed by its `\n`, as Go kuma-dp's streamer does: first
 * as JSON `{"address": "host:port", "message": ...}` (MeshAccessLog), where a string message is
 * sent as it is and anything else as JSON with sorted keys and a newline; otherwise as the legacy
 * `address;message` (TrafficLog), split at the first `;`, the message sent with its newline.
 * Undefined for a line that is neither. May overwrite the line's bytes.
 */
export function parseLine(bytes: Buffer, start = 0, end = bytes.length - 1): LogEntry | undefined {
  if (bytes[start] === 0x7b /* { */) {
    const entry = plainJsonLine(bytes, start, end) ?? jsonLine(bytes.toString('utf8', start, end));
    if (entry) return entry;
  }
  for (let cut = start; cut < end; cut++) {
    if (bytes[cut] !== SEMICOLON) continue;
    // The message is sent as its bytes are, newline included: `end` holds the line's `\n`.
    return { address: bytes.toString('latin1', start, cut), message: bytes.subarray(cut + 1, end + 1) };
  }
  return undefined;
}

/**
 * The line as Envoy writes Kuma's default and plain formats, `{"address":"…","message":"…\n"}`
 * with nothing to unescape but the final `\n`, read without JSON.parse: most lines are these,
 * and this is several times cheaper. Anything else (other escapes, other keys, white space, text
 * that is not UTF-8, which JSON decoding would replace) is left to JSON.parse. Raw control
 * characters, which JSON forbids in a string and Envoy escapes, are passed through, not looked for.
 */
function plainJsonLine(bytes: Buffer, start: number, end: number): LogEntry | undefined {
  if (!matches(bytes, start, JSON_HEAD)) return undefined;
  const addressStart = start + JSON_HEAD.length;
  let quote = addressStart;
  while (quote < end && bytes[quote]! > 0x20 && bytes[quote]! < 0x7f && bytes[quote] !== 0x22 && bytes[quote] !== 0x5c) quote++;
  if (bytes[quote] !== 0x22 || !matches(bytes, quote, JSON_MIDDLE)) return undefined;
  const messageStart = quote + JSON_MIDDLE.length;
  const tail = end - JSON_TAIL.length;
  if (tail < messageStart || !matches(bytes, tail, JSON_TAIL)) return undefined;
  // The first backslash and the first quote of the message must be those of its closing `\n"`.
  if (bytes.indexOf(0x5c, messageStart) !== tail || bytes.indexOf(0x22, messageStart) !== tail + 2) return undefined;
  const message = bytes.subarray(messageStart, tail + 1);
  if (!isUtf8(message.subarray(0, -1))) return undefined;
  // The `\` of the final `\n` becomes the newline itself: the message is then a view of the line.
  bytes[tail] = 0x0a;
  return { address: bytes.toString('latin1', addressStart, quote), message };
}

function matches(bytes: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

function jsonLine(line: string): LogEntry | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const { address, message } = value as { address?: unknown; message?: unknown };
    if (typeof address !== 'string') return undefined;
    if (typeof message === 'string') return { address, message: Buffer.from(message) };
    // Go decodes a missing message as nil and sends `null`.
    return { address, message: Buffer.from(`${goJson(message ?? null)}\n`) };
  } catch {
    // Not JSON, or nested too deep to write back out: the legacy form may still read it.
    return undefined;
  }
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * JSON as Go's encoding/json writes a decoded value: object keys sorted at every level, and
 * `<`, `>`, `&`, U+2028 and U+2029 escaped (they occur only inside strings, so one pass over the
 * text is enough). Keys are sorted here, not by an object: JavaScript would put integer-like keys
 * first.
 */
export function goJson(value: unknown): string {
  return serialize(value).replace(/[<>&\u2028\u2029]/g, (char) => GO_ESCAPES[char]!);
}

function serialize(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${serialize(object[key])}`).join(',')}}`;
}

/** A backend address as `host:port` (an IPv6 host in brackets); undefined when it is not one. */
export function parseBackendAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

import { isUtf8 } from 'node:buffer';

const SEMICOLON = 0x3b;
const JSON_HEAD = Buffer.from('{"address":"');
const JSON_MIDDLE = Buffer.from('","message":"');
const JSON_TAIL = Buffer.from('\\n"}');
const EMPTY = Buffer.alloc(0);

/**
 * Reads the lines Envoy writes into the pipe as Go kuma-dp's streamer does: first as JSON
 * `{"address": "host:port", "message": ...}` (MeshAccessLog), where a string message is sent as
 * it is and anything else as JSON with sorted keys and a newline; otherwise as the legacy
 * `address;message` (TrafficLog), split at the first `;`, the message sent with its newline.
 *
 * Hundreds of thousands of lines a second go through here, so the result is left in fields
 * rather than in a new object, the address string is reused while lines name the same backend,
 * and the message is, where it can be, a range of the line's own bytes.
 */
export class LineParser {
  /** The backend the last line names. */
  address = '';
  /** The last line's message: `bytes[start, end)`. */
  bytes: Buffer = EMPTY;
  start = 0;
  end = 0;
  private knownAddress = '';
  private knownAddressBytes: Buffer = EMPTY;

  /**
   * Reads one line, `bytes[start, end)` followed by its `\n`; false for a line that is neither
   * form. `utf8`: all of `bytes` is known to be UTF-8 (checked once per chunk, not per line). May
   * overwrite the line's bytes.
   */
  parse(bytes: Buffer, start: number, end: number, utf8 = false): boolean {
    if (bytes[start] === 0x7b /* { */ && (this.plainJsonLine(bytes, start, end, utf8) || this.jsonLine(bytes.toString('utf8', start, end)))) return true;
    for (let cut = start; cut < end; cut++) {
      if (bytes[cut] !== SEMICOLON) continue;
      this.address = this.addressOf(bytes, start, cut);
      // Sent as its bytes are, newline included: `end` holds the line's `\n`.
      this.setMessage(bytes, cut + 1, end + 1);
      return true;
    }
    return false;
  }

  /**
   * The line as Envoy writes Kuma's default and plain formats, `{"address":"…","message":"…\n"}`
   * with nothing to unescape but the final `\n`, read without JSON.parse: most lines are these,
   * and this is several times cheaper. Anything else (other escapes, other keys, white space, text
   * that is not UTF-8, which JSON decoding would replace) is left to JSON.parse. Raw control
   * characters, which JSON forbids in a string and Envoy escapes, are passed through, not looked for.
   */
  private plainJsonLine(bytes: Buffer, start: number, end: number, utf8: boolean): boolean {
    if (!matches(bytes, start, JSON_HEAD)) return false;
    const addressStart = start + JSON_HEAD.length;
    let quote = addressStart;
    while (quote < end && bytes[quote]! > 0x20 && bytes[quote]! < 0x7f && bytes[quote] !== 0x22 && bytes[quote] !== 0x5c) quote++;
    if (bytes[quote] !== 0x22 || !matches(bytes, quote, JSON_MIDDLE)) return false;
    const messageStart = quote + JSON_MIDDLE.length;
    const tail = end - JSON_TAIL.length;
    if (tail < messageStart || !matches(bytes, tail, JSON_TAIL)) return false;
    // The first backslash and the first quote of the message must be those of its closing `\n"`.
    if (bytes.indexOf(0x5c, messageStart) !== tail || bytes.indexOf(0x22, messageStart) !== tail + 2) return false;
    if (!utf8 && !isUtf8(bytes.subarray(messageStart, tail))) return false;
    this.address = this.addressOf(bytes, addressStart, quote);
    // The `\` of the final `\n` becomes the newline itself: the message is then a range of the line.
    bytes[tail] = 0x0a;
    this.setMessage(bytes, messageStart, tail + 1);
    return true;
  }

  private jsonLine(line: string): boolean {
    let value: unknown;
    let text: string;
    try {
      value = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const { address, message } = value as { address?: unknown; message?: unknown };
      if (typeof address !== 'string') return false;
      // Go decodes a missing message as nil and sends `null`.
      text = typeof message === 'string' ? message : `${goJson(message ?? null)}\n`;
      this.address = address;
    } catch {
      // Not JSON, or nested too deep to write back out: the legacy form may still read it.
      return false;
    }
    const bytes = Buffer.from(text);
    this.setMessage(bytes, 0, bytes.length);
    return true;
  }

  /** The address as a string: the last one again while the bytes are the same. */
  private addressOf(bytes: Buffer, start: number, end: number): string {
    const known = this.knownAddressBytes;
    if (end - start === known.length && matches(bytes, start, known)) return this.knownAddress;
    this.knownAddressBytes = Buffer.from(bytes.subarray(start, end));
    this.knownAddress = bytes.toString('latin1', start, end);
    return this.knownAddress;
  }

  private setMessage(bytes: Buffer, start: number, end: number): void {
    this.bytes = bytes;
    this.start = start;
    this.end = end;
  }
}

function matches(bytes: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
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

/** One access-log entry as Envoy writes it into the pipe: where it goes and the bytes to send. */
export interface LogEntry {
  readonly address: string;
  readonly message: string;
}

/**
 * Reads one line (without its `\n`) as Go kuma-dp's streamer does: first as JSON
 * `{"address": "host:port", "message": ...}` (MeshAccessLog), where a string message is sent as it
 * is and anything else as JSON with sorted keys and a newline; otherwise as the legacy
 * `address;message` (TrafficLog), split at the first `;`, the message keeping its newline.
 * Undefined for a line that is neither.
 */
export function parseLine(line: string): LogEntry | undefined {
  if (line.charCodeAt(0) === 0x7b /* { */) {
    const entry = parseJsonLine(line);
    if (entry) return entry;
  }
  const cut = line.indexOf(';');
  if (cut < 0) return undefined;
  return { address: line.slice(0, cut), message: `${line.slice(cut + 1)}\n` };
}

function parseJsonLine(line: string): LogEntry | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const { address, message } = value as { address?: unknown; message?: unknown };
    if (typeof address !== 'string') return undefined;
    if (typeof message === 'string') return { address, message };
    // Go decodes a missing message as nil and sends `null`.
    return { address, message: `${goJson(message ?? null)}\n` };
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

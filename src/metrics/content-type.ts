/**
 * The formats of a merged scrape, chosen as Kuma chooses them: the best format any scraped source
 * answered in (OpenMetrics 1.0.0, then 0.0.1, then text 0.0.4), whatever the scraper asked for.
 */
export type TextFormat = 'openmetrics-1.0.0' | 'openmetrics-0.0.1' | 'text';
/** What one source answered in; protobuf bodies are binary and cannot be joined with text. */
export type SourceFormat = TextFormat | 'protobuf' | 'unknown';

export const CONTENT_TYPES: Readonly<Record<TextFormat, string>> = {
  'openmetrics-1.0.0': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  'openmetrics-0.0.1': 'application/openmetrics-text; version=0.0.1; charset=utf-8',
  text: 'text/plain; version=0.0.4; charset=utf-8',
};

const PRIORITY: readonly TextFormat[] = ['openmetrics-1.0.0', 'openmetrics-0.0.1', 'text'];

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9a-z]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}(?:/${TOKEN})?$`);
// Values keep their case (`proto=io.prometheus.client.MetricFamily`); names are lowercased before.
const PARAMETER = new RegExp(`^(${TOKEN})=(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")$`, 'i');

/** Go's mime.ParseMediaType, as far as telling formats apart needs: undefined when malformed. */
function parseMediaType(header: string): { type: string; params: Map<string, string> } | undefined {
  const [head = '', ...rest] = header.split(';');
  const type = head.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type)) return undefined;
  const params = new Map<string, string>();
  for (const part of rest) {
    const text = part.trim();
    if (text === '') continue;
    const match = PARAMETER.exec(text.replace(/^([^=]*)=/, (_, key: string) => `${key.trim().toLowerCase()}=`));
    if (!match || params.has(match[1]!)) return undefined;
    const value = match[2]!;
    params.set(match[1]!, value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value);
  }
  return { type, params };
}

/**
 * Kuma's responseFormat: any `text/plain` is text 0.0.4 (Envoy sends no version), OpenMetrics
 * without a version is 0.0.1, and only delimited protobuf counts as protobuf.
 */
export function responseFormat(contentType: string | undefined): SourceFormat {
  const media = parseMediaType(contentType ?? '');
  if (!media) return 'unknown';
  const version = media.params.get('version') ?? '';
  switch (media.type) {
    case 'application/vnd.google.protobuf':
      return media.params.get('proto') === 'io.prometheus.client.MetricFamily' && media.params.get('encoding') === 'delimited' ? 'protobuf' : 'unknown';
    case 'text/plain':
      return 'text';
    case 'application/openmetrics-text':
      if (version === '' || version === '0.0.1') return 'openmetrics-0.0.1';
      return version === '1.0.0' ? 'openmetrics-1.0.0' : 'unknown';
    default:
      return 'unknown';
  }
}

/**
 * The highest-priority format among the sources' (selectContentType). When none answered in a text
 * format, Go negotiates with the scraper's Accept header, which never yields OpenMetrics; the
 * agent only writes text, so that is text 0.0.4.
 */
export function selectFormat(formats: Iterable<SourceFormat>): TextFormat {
  let best = PRIORITY.length - 1;
  for (const format of formats) {
    const priority = PRIORITY.indexOf(format as TextFormat);
    if (priority >= 0 && priority < best) best = priority;
  }
  return PRIORITY[best]!;
}

const EOF_MARKER = Buffer.from('# EOF');
const NEWLINE = Buffer.from('\n');
const NEWLINE_EOF = Buffer.from('\n# EOF\n');
const LF = 10;

function trimTrailingNewlines(body: Buffer): Buffer {
  let end = body.length;
  while (end > 0 && body[end - 1] === LF) end--;
  return body.subarray(0, end);
}

/** Go's bytes.TrimSpace for ASCII white space. */
function trimSpace(body: Buffer): Buffer {
  const space = (byte: number) => byte === 32 || (byte >= 9 && byte <= 13);
  let start = 0;
  let end = body.length;
  while (start < end && space(body[start]!)) start++;
  while (end > start && space(body[end - 1]!)) end--;
  return body.subarray(start, end);
}

/** Runs of newlines as one, in place. */
function collapseNewlines(body: Buffer): Buffer {
  let to = 0;
  for (let from = 0; from < body.length; from++) {
    if (body[from] === LF && to > 0 && body[to - 1] === LF) continue;
    body[to++] = body[from]!;
  }
  return body.subarray(0, to);
}

/**
 * Kuma's processMetrics: each body without its trailing `# EOF`, joined, runs of newlines
 * collapsed, trimmed, one newline at the end, and one `# EOF` line for OpenMetrics. In bytes, and
 * as the pieces to write one after another: an Envoy's megabytes of text are never copied into a
 * joined whole, nor turned back into a string.
 */
export function joinParts(bodies: ReadonlyArray<string | Buffer>, format: TextFormat): Buffer[] {
  const parts: Buffer[] = [];
  for (const body of bodies) {
    let part = trimTrailingNewlines(typeof body === 'string' ? Buffer.from(body) : body);
    if (part.subarray(part.length - EOF_MARKER.length).equals(EOF_MARKER)) part = trimTrailingNewlines(part.subarray(0, part.length - EOF_MARKER.length));
    // Runs inside one body (prom-client's blank line after each family) collapse in a copy of that body alone.
    if (part.includes('\n\n')) part = collapseNewlines(Buffer.from(part));
    parts.push(part, NEWLINE);
  }
  const tail = format === 'text' ? NEWLINE : NEWLINE_EOF;
  // The usual case (an Envoy's megabyte among them): no run crosses two bodies and nothing to trim.
  const space = (byte: number | undefined) => byte === undefined || byte === 32 || (byte >= 9 && byte <= 13);
  const bodyParts = parts.filter((_, i) => i % 2 === 0);
  if (bodyParts.every((part, i) => part.length > 0 && (i === 0 || part[0] !== LF)) && !space(bodyParts[0]?.[0]) && !space(bodyParts.at(-1)?.at(-1))) {
    parts[parts.length - 1] = tail;
    return parts;
  }
  let joined: Buffer = Buffer.concat(parts);
  if (joined.includes('\n\n')) joined = collapseNewlines(joined);
  return [trimSpace(joined), tail];
}

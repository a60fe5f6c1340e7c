import { formatGoFloat } from './go-float.js';
import type { Family, Metric } from './model.js';

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const NEEDS_ESCAPE = /[\\\n"]/;

function escape(text: string, quoted: boolean): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return quoted ? escaped.replace(/"/g, '\\"') : escaped;
}

/** Label names repeat on every line: each is checked once. */
const writtenNames = new Map<string, string>();

function writeName(name: string): string {
  let written = writtenNames.get(name);
  if (written === undefined) {
    written = LEGACY_NAME.test(name) ? name : `"${escape(name, true)}"`;
    if (writtenNames.size < 10_000) writtenNames.set(name, written);
  }
  return written;
}

/** `a="x",b="y"`: a metric's labels, written once for all the lines of a histogram or summary. */
function labelText(labels: readonly string[]): string {
  let text = '';
  for (let i = 0; i < labels.length; i += 2) {
    if (i > 0) text += ',';
    text += `${writeName(labels[i]!)}="${escape(labels[i + 1]!, true)}"`;
  }
  return text;
}

/** Bounds and quantiles repeat on every histogram and summary: each is formatted once. */
const formattedBounds = new Map<number, string>();

function formatBound(bound: number): string {
  let text = formattedBounds.get(bound);
  if (text === undefined) {
    text = formatGoFloat(bound);
    if (formattedBounds.size < 1000) formattedBounds.set(bound, text);
  }
  return text;
}

/**
 * Writes the lines of one metric; a name that is not a legacy name goes inside the braces. What
 * comes before the value is built once per kind of line (a histogram has twenty bucket lines).
 */
class Lines {
  out = '';
  private readonly stamp: string;
  private readonly heads = new Map<string, string>();

  constructor(
    private readonly name: string,
    private readonly legacy: boolean,
    private readonly labels: string,
    timestamp: string | undefined,
  ) {
    this.stamp = timestamp === undefined ? '' : ` ${BigInt(timestamp)}`;
  }

  /** `name_suffix{labels` plus `,extra="` when there is an extra label: the line up to the extra label's value. */
  private head(suffix: string, extra: string): string {
    const key = `${suffix}:${extra}`;
    let head = this.heads.get(key);
    if (head === undefined) {
      const inner = this.labels && extra ? `${this.labels},${extra}="` : this.labels || (extra && `${extra}="`);
      if (this.legacy) head = inner ? `${this.name}${suffix}{${inner}` : `${this.name}${suffix}`;
      else head = `{"${escape(this.name + suffix, true)}"${inner ? `,${inner}` : ''}`;
      this.heads.set(key, head);
    }
    return head;
  }

  add(suffix: string, value: number, extra = '', extraValue = 0): void {
    const head = this.head(suffix, extra);
    const close = extra ? `${formatBound(extraValue)}"}` : this.labels || !this.legacy ? '}' : '';
    this.out += `${head}${close} ${formatGoFloat(value)}${this.stamp}\n`;
  }
}

/** A histogram's or summary's points in ascending order (Go's order is its map's, random). */
function* ascending(points: readonly number[] | undefined): Iterable<[number, number]> {
  if (!points) return;
  for (let i = 2; i < points.length; i += 2) {
    if (points[i]! < points[i - 2]!) {
      const pairs: Array<[number, number]> = [];
      for (let j = 0; j < points.length; j += 2) pairs.push([points[j]!, points[j + 1]!]);
      yield* pairs.sort((a, b) => a[0] - b[0]);
      return;
    }
  }
  for (let i = 0; i < points.length; i += 2) yield [points[i]!, points[i + 1]!];
}

/**
 * One family as Go's expfmt.MetricFamilyToText prints it: `# HELP` only when there was one,
 * `# TYPE`, then the samples; a histogram without a `+Inf` bucket gets one holding its count.
 * The text goes to `sink` a metric at a time, so that a family of thousands of samples is never
 * one string.
 */
export function writeFamilyTo(sink: (text: string) => void, family: Family): void {
  const name = family.name;
  sink(`${family.help === undefined ? '' : `# HELP ${writeName(name)} ${escape(family.help, false)}\n`}# TYPE ${writeName(name)} ${family.type}\n`);
  const legacy = LEGACY_NAME.test(name);
  for (const metric of family.metrics) {
    const lines = new Lines(name, legacy, labelText(metric.labels), metric.timestamp);
    writeMetric(lines, family, metric);
    sink(lines.out);
  }
}

/** writeFamilyTo, as one string. */
export function writeFamily(family: Family): string {
  let out = '';
  writeFamilyTo((text) => (out += text), family);
  return out;
}

function writeMetric(lines: Lines, family: Family, metric: Metric): void {
  if (family.type !== 'summary' && family.type !== 'histogram') {
    lines.add('', metric.value);
    return;
  }
  let infinity = false;
  for (const [bound, value] of ascending(metric.points)) {
    if (family.type === 'summary') {
      lines.add('', value, 'quantile', bound);
    } else {
      lines.add('_bucket', value, 'le', bound);
      infinity ||= bound === Infinity;
    }
  }
  if (family.type === 'histogram' && !infinity) lines.add('_bucket', metric.count, 'le', Infinity);
  lines.add('_sum', metric.sum);
  lines.add('_count', metric.count);
}

/** Families as Kuma's mutators write them: each followed by one empty line. */
export function writeFamilies(families: Iterable<Family>): string {
  let out = '';
  for (const family of families) out += `${writeFamily(family)}\n`;
  return out;
}

/**
 * Text written into a growing buffer outside V8's heap: a large scrape's lines then die young
 * instead of living, and being copied by each garbage collection, until the whole answer is done.
 */
export class TextBuffer {
  private buffer: Buffer;
  private length = 0;

  constructor(sizeHint: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  append(text: string): void {
    const most = text.length * 3;
    if (this.length + most > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + most));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** What was written (no copy: the buffer is not written to again). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

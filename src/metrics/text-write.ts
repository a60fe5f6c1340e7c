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

/** `0.5"} `: the end of a bucket's or quantile's labels, the same on every histogram. */
const closings = new Map<number, string>();

function closing(bound: number): string {
  let text = closings.get(bound);
  if (text === undefined) {
    text = `${formatGoFloat(bound)}"} `;
    if (closings.size < 1000) closings.set(bound, text);
  }
  return text;
}

/** Which number of a metric a written value is (a bucket's or quantile's with its bound). */
export type WrittenKind = 'value' | 'sum' | 'count' | 'point';

/**
 * Where a metric's lines go: text as it is, and each value apart, with which number of the metric
 * it is, so that a rewrite can be compiled (rewrite-plan.ts).
 */
export interface LineSink {
  text(text: string): void;
  value(value: number, metric: Metric, kind: WrittenKind, bound: number): void;
}

/** A LineSink that makes text: the parts of one metric, joined once (a large scrape makes little garbage). */
class TextParts implements LineSink {
  readonly parts: string[] = [];

  text(text: string): void {
    this.parts.push(text);
  }

  value(value: number): void {
    this.parts.push(formatGoFloat(value));
  }
}

/**
 * Writes the lines of one metric; a name that is not a legacy name goes inside the braces. What
 * comes before the value is built once per kind of line (a histogram has twenty bucket lines).
 */
class Lines {
  private readonly stamp: string;
  /** Heads built so far, by suffix and extra label (string constants, compared by identity). */
  private readonly heads: Array<{ suffix: string; extra: string; head: string }> = [];

  constructor(
    private readonly sink: LineSink,
    private readonly metric: Metric,
    private readonly name: string,
    private readonly legacy: boolean,
    private readonly labels: string,
  ) {
    this.stamp = metric.timestamp === undefined ? '\n' : ` ${BigInt(metric.timestamp)}\n`;
  }

  /** `name_suffix{labels` plus `,extra="` when there is an extra label: the line up to the extra label's value. */
  private head(suffix: string, extra: string): string {
    for (const known of this.heads) if (known.suffix === suffix && known.extra === extra) return known.head;
    const inner = this.labels && extra ? `${this.labels},${extra}="` : this.labels || (extra && `${extra}="`);
    let head: string;
    if (this.legacy) head = inner ? `${this.name}${suffix}{${inner}` : `${this.name}${suffix}`;
    else head = `{"${escape(this.name + suffix, true)}"${inner ? `,${inner}` : ''}`;
    if (!extra) head += this.labels || !this.legacy ? '} ' : ' ';
    this.heads.push({ suffix, extra, head });
    return head;
  }

  add(suffix: string, value: number, kind: WrittenKind): void {
    this.sink.text(this.head(suffix, ''));
    this.sink.value(value, this.metric, kind, 0);
    this.sink.text(this.stamp);
  }

  addWithBound(suffix: string, extra: string, bound: number, value: number, kind: WrittenKind): void {
    this.sink.text(this.head(suffix, extra));
    this.sink.text(closing(bound));
    this.sink.value(value, this.metric, kind, bound);
    this.sink.text(this.stamp);
  }
}

/** A histogram's or summary's points in ascending order (Go's order is its map's, random). */
function ascending(points: readonly number[] | undefined): readonly number[] {
  if (!points) return [];
  for (let i = 2; i < points.length; i += 2) {
    if (points[i]! < points[i - 2]!) {
      const pairs: Array<[number, number]> = [];
      for (let j = 0; j < points.length; j += 2) pairs.push([points[j]!, points[j + 1]!]);
      return pairs.sort((a, b) => a[0] - b[0]).flat();
    }
  }
  return points;
}

/**
 * One family as Go's expfmt.MetricFamilyToText prints it: `# HELP` only when there was one,
 * `# TYPE`, then the samples; a histogram without a `+Inf` bucket gets one holding its count.
 * The text goes to `sink` a metric at a time, so that a family of thousands of samples is never
 * one string.
 */
function writeFamilyTo(sink: (text: string) => void, family: Family): void {
  writeFamilyLines(
    {
      header: sink,
      metric: (write) => {
        const parts = new TextParts();
        write(parts);
        sink(parts.parts.join(''));
      },
    },
    family,
  );
}

/** writeFamilyTo with the values apart: the family's header, then each metric's lines into a LineSink. */
export function writeFamilyLines(out: { header(text: string): void; metric(write: (sink: LineSink) => void): void }, family: Family): void {
  const name = family.name;
  out.header(`${family.help === undefined ? '' : `# HELP ${writeName(name)} ${escape(family.help, false)}\n`}# TYPE ${writeName(name)} ${family.type}\n`);
  const legacy = LEGACY_NAME.test(name);
  for (const metric of family.metrics) {
    out.metric((sink) => writeMetric(new Lines(sink, metric, name, legacy, labelText(metric.labels)), family, metric));
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
    lines.add('', metric.value, 'value');
    return;
  }
  const points = ascending(metric.points);
  const summary = family.type === 'summary';
  for (let i = 0; i < points.length; i += 2) {
    lines.addWithBound(summary ? '' : '_bucket', summary ? 'quantile' : 'le', points[i]!, points[i + 1]!, 'point');
  }
  // Go adds the +Inf bucket a histogram lacks, holding its count.
  if (!summary && points[points.length - 2] !== Infinity) lines.addWithBound('_bucket', 'le', Infinity, metric.count, 'count');
  lines.add('_sum', metric.sum, 'sum');
  lines.add('_count', metric.count, 'count');
}

/** Families as Kuma's mutators write them: each followed by one empty line. */
export function writeFamilies(families: Iterable<Family>): string {
  let out = '';
  for (const family of families) out += `${writeFamily(family)}\n`;
  return out;
}

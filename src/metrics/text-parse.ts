import { parseGoFloat, parseGoFloatAt } from './go-float.js';
import { setPoint, type Family, type Metric, type MetricType } from './model.js';

/** Prometheus text that Go's expfmt parser would refuse; the source then contributes nothing. */
export class TextParseError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`text format parsing error in line ${line}: ${reason}`);
    this.name = 'TextParseError';
  }
}

const TYPES: Readonly<Record<string, MetricType>> = {
  COUNTER: 'counter',
  GAUGE: 'gauge',
  SUMMARY: 'summary',
  HISTOGRAM: 'histogram',
  GAUGE_HISTOGRAM: 'histogram',
  GAUGEHISTOGRAM: 'histogram',
  UNTYPED: 'untyped',
};

const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const isBlank = (c: number) => c === SPACE || c === TAB;
const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isDigit = (c: number) => c >= 48 && c <= 57;

type Role = 'value' | 'count' | 'sum' | 'bucket';

/** Which number of a metric a sample line sets: its value, sum, count, a bucket or quantile (`bound`), or none. */
export type ValueKind = 'value' | 'sum' | 'count' | 'point' | 'ignored';
/** How a line's value is taken: as is, truncated to an integer (a summary's count), or refused when negative (a histogram's). */
export type ValueMode = 'as-is' | 'truncated' | 'non-negative';

/** Told where each line's text and value went (to compile a rewrite that later texts of the same shape reuse). */
export interface LineObserver {
  /** A line that is not a sample (comment, empty), from start to end of the text. */
  other(start: number, end: number): void;
  /** A sample line; its value is the text from valueStart to valueEnd, and the line ends at end. */
  sample(line: { start: number; valueStart: number; valueEnd: number; end: number }, metric: Metric, kind: ValueKind, bound: number, mode: ValueMode): void;
}

/**
 * Parses Prometheus text format 0.0.4 (and the OpenMetrics text Kuma passes through) as Go's
 * expfmt.TextParser does: families by name (a `_sum`, `_count` or `_bucket` sample joins its
 * summary or histogram), summary and histogram samples with equal labels folded into one metric,
 * families without samples dropped, UTF-8 names in quotes. Two leniencies: the last line needs no
 * newline, and blanks may end a line. Families come in the order they first appear.
 */
export function parseText(text: string): Family[] {
  return new Parser(text).parse();
}

/** A family came back after another one: streaming cannot fold it in (parseText can). */
export class FamilyRevisited extends Error {
  constructor(readonly family: string) {
    super(`family ${family} comes back after another one`);
    this.name = 'FamilyRevisited';
  }
}

/**
 * parseText for a large text (an Envoy with tens of thousands of series): hands each family on
 * as soon as its lines are over and forgets it, so that little stays in memory. A family whose
 * lines come back after another family's throws FamilyRevisited: Envoy writes each family in one
 * block, any text that does not is then read with parseText.
 */
export function parseTextStream(text: string, onFamily: (family: Family) => void, observer?: LineObserver): void {
  new Parser(text, onFamily, observer).parse();
}

class Parser {
  private readonly families = new Map<string, Family>();
  /** Streaming: the family whose lines are being read, and the types of those handed on. */
  private current?: Family;
  private readonly done = new Map<string, MetricType>();
  /** Families whose type is settled, by a TYPE line or by a first sample. */
  private readonly typed = new Set<Family>();
  /** Summary and histogram metrics by family and labels. */
  private readonly grouped = new Map<string, Metric>();
  /** `le` and `quantile` values read so far: the same twenty on every histogram. */
  private readonly bounds = new Map<string, number>();
  /** The last name looked up and the last metric grouped: Envoy writes a family's lines together. */
  private lastName = '';
  private lastTarget?: { family: Family; role: Role };
  private lastGroup?: { family: Family; labels: readonly string[]; metric: Metric };
  private line = 0;
  private pos = 0;
  private end = 0;

  /** Where the current line starts, where its value starts and ends, and whether it was a sample. */
  private lineStart = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private sampled = false;

  constructor(
    private readonly text: string,
    private readonly onFamily?: (family: Family) => void,
    private readonly observer?: LineObserver,
  ) {}

  parse(): Family[] {
    const { text } = this;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      this.line++;
      this.pos = start;
      this.end = end;
      this.lineStart = start;
      this.sampled = false;
      this.parseLine();
      if (!this.sampled) this.observer?.other(start, end);
      start = end + 1;
    }
    if (this.current) this.handOn(this.current);
    return [...this.families.values()].filter((family) => family.metrics.length > 0);
  }

  /** Streaming: a family's lines are over; it goes to onFamily and out of memory. */
  private handOn(family: Family): void {
    this.families.delete(family.name);
    this.typed.delete(family);
    this.done.set(family.name, family.type);
    this.grouped.clear();
    this.lastGroup = undefined;
    this.lastTarget = undefined;
    this.current = undefined;
    if (family.metrics.length > 0) this.onFamily!(family);
  }

  private fail(reason: string): never {
    throw new TextParseError(this.line, reason);
  }

  private peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  private skipBlanks(): void {
    while (this.pos < this.end && isBlank(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private parseLine(): void {
    this.skipBlanks();
    if (this.pos >= this.end) return;
    const c = this.peek();
    if (c === 35 /* # */) return this.parseComment();
    if (c === 123 /* { */) {
      this.pos++;
      return this.parseSample(undefined);
    }
    const name = this.readName(true);
    if (name === '') this.fail('invalid metric name');
    this.parseSample(name);
  }

  private parseComment(): void {
    this.pos++;
    this.skipBlanks();
    const keywordStart = this.pos;
    while (this.pos < this.end && !isBlank(this.text.charCodeAt(this.pos))) this.pos++;
    const keyword = this.text.slice(keywordStart, this.pos);
    if (keyword !== 'HELP' && keyword !== 'TYPE') return;
    this.skipBlanks();
    const name = this.readName(true);
    if (this.pos >= this.end) return;
    if (name === '' || !isBlank(this.peek())) this.fail('invalid metric name in comment');
    const { family } = this.familyFor(name);
    this.skipBlanks();
    if (this.pos >= this.end) return;
    if (keyword === 'HELP') {
      if (family.help !== undefined) this.fail(`second HELP line for metric name "${family.name}"`);
      family.help = this.readEscaped(this.end, false);
      return;
    }
    if (this.typed.has(family)) this.fail(`second TYPE line for metric name "${family.name}", or TYPE reported after samples`);
    const word = this.text.slice(this.pos, this.end);
    const type = TYPES[word.toUpperCase()];
    if (!type) this.fail(`unknown metric type "${word}"`);
    family.type = type;
    this.typed.add(family);
  }

  /**
   * A metric or label name: letters, digits, `_` (and `:` in metric names), or any text in double
   * quotes with `\\`, `\n` and `\"` escapes. Empty when the current character cannot start one.
   */
  private readName(metric: boolean): string {
    const c = this.peek();
    if (c === QUOTE) {
      const close = this.closingQuote(this.pos + 1);
      const name = this.readEscaped(close, true);
      this.pos = close + 1;
      return name;
    }
    if (!isLetter(c) && !(metric && c === 58)) return '';
    const start = this.pos;
    for (;;) {
      this.pos++;
      const d = this.peek();
      if (!(isLetter(d) || isDigit(d) || (metric && d === 58))) break;
    }
    // A histogram's twenty bucket lines each name `le`: no new string for it.
    if (this.pos - start === 2 && c === 108 && this.text.charCodeAt(start + 1) === 101) return 'le';
    return this.text.slice(start, this.pos);
  }

  /** Where the quoted text starting at `from` ends (its closing quote). */
  private closingQuote(from: number): number {
    for (let i = from; i < this.end; i++) {
      const c = this.text.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i;
    }
    return this.fail('unexpected end of line in a quoted string');
  }

  /** Text from the current position (past an opening quote when quoted) to `to`, unescaped. */
  private readEscaped(to: number, quoted: boolean): string {
    const from = quoted ? this.pos + 1 : this.pos;
    const raw = this.text.slice(from, to);
    this.pos = to;
    if (!raw.includes('\\')) return raw;
    return raw.replace(/\\(.?)/g, (_, next: string) => {
      if (next === '\\') return '\\';
      if (next === 'n') return '\n';
      if (next === '"') return '"';
      return this.fail(`invalid escape sequence '\\${next}'`);
    });
  }

  /** Go's setOrCreateCurrentMF: the family a name belongs to, and what its sample is. */
  private familyFor(name: string): { family: Family; role: Role } {
    if (this.lastTarget && name === this.lastName) return this.lastTarget;
    const target = this.lookUp(name);
    if (this.onFamily && target.family !== this.current) {
      if (this.current) this.handOn(this.current);
      this.current = target.family;
    }
    this.lastName = name;
    this.lastTarget = target;
    return target;
  }

  private lookUp(name: string): { family: Family; role: Role } {
    const exact = this.families.get(name);
    if (exact) return { family: exact, role: 'value' };
    const suffix = name.endsWith('_count') && name.length > 6 ? 6 : name.endsWith('_sum') && name.length > 4 ? 4 : 0;
    if (suffix > 0) {
      const summary = this.families.get(name.slice(0, -suffix));
      if (summary?.type === 'summary') return { family: summary, role: suffix === 6 ? 'count' : 'sum' };
    }
    const histogramSuffix = suffix || (name.endsWith('_bucket') && name.length > 7 ? 7 : 0);
    if (histogramSuffix > 0) {
      const histogram = this.families.get(name.slice(0, -histogramSuffix));
      if (histogram?.type === 'histogram') {
        return { family: histogram, role: histogramSuffix === 6 ? 'count' : histogramSuffix === 4 ? 'sum' : 'bucket' };
      }
    }
    if (this.done.has(name)) throw new FamilyRevisited(name);
    for (const suffix of ['_count', '_sum', '_bucket']) {
      const base = name.endsWith(suffix) ? this.done.get(name.slice(0, -suffix.length)) : undefined;
      if (base === 'histogram' || (base === 'summary' && suffix !== '_bucket')) throw new FamilyRevisited(name.slice(0, -suffix.length));
    }
    const family: Family = { name, type: 'untyped', metrics: [] };
    this.families.set(name, family);
    return { family, role: 'value' };
  }

  /** A line's labels as read; copied only into a new metric (a histogram's twenty bucket lines make one). */
  private readonly scratch: string[] = [];

  private parseSample(unbracedName: string | undefined): void {
    let target = unbracedName === undefined ? undefined : this.familyFor(unbracedName);
    const labels = this.scratch;
    labels.length = 0;
    let bound: number | undefined;
    let inBraces = unbracedName === undefined;
    if (!inBraces) {
      this.skipBlanks();
      if (this.peek() === 123) {
        this.pos++;
        inBraces = true;
      }
    }
    if (inBraces) {
      for (;;) {
        this.skipBlanks();
        if (this.peek() === 125 /* } */) {
          this.pos++;
          break;
        }
        const name = this.readName(false);
        if (name === '') this.fail(`invalid label name for metric "${target?.family.name ?? ''}"`);
        this.skipBlanks();
        if (this.peek() !== 61 /* = */) {
          // `{"name", label="value"}`: the metric's name inside the braces.
          if (unbracedName !== undefined || target || (this.peek() !== 44 && this.peek() !== 125)) {
            this.fail(`expected '=' after label name, found ${JSON.stringify(String.fromCharCode(this.peek()))}`);
          }
          target = this.familyFor(name);
          if (this.peek() === 44) this.pos++;
          continue;
        }
        if (!target) this.fail('invalid metric name');
        this.pos++;
        this.skipBlanks();
        if (this.peek() !== QUOTE) this.fail(`expected '"' at start of label value`);
        const close = this.closingQuote(this.pos + 1);
        const value = this.readEscaped(close, true);
        this.pos = close + 1;
        if (name === '__name__') this.fail('label name "__name__" is reserved');
        const type = target.family.type;
        if ((type === 'summary' && name === 'quantile') || (type === 'histogram' && name === 'le')) {
          bound = this.bounds.get(value) ?? parseGoFloat(value);
          if (bound !== undefined && this.bounds.size < 1000) this.bounds.set(value, bound);
          if (bound === undefined) this.fail(`expected float as value for '${name}' label, got "${value}"`);
        } else {
          for (let i = 0; i < labels.length; i += 2) {
            if (labels[i] === name) this.fail(`duplicate label names for metric "${target.family.name}"`);
          }
          labels.push(name, value);
        }
        this.skipBlanks();
        if (this.peek() === 44 /* , */) this.pos++;
        else if (this.peek() !== 125) this.fail(`unexpected end of label value "${value}"`);
      }
    }
    if (!target) this.fail('invalid metric name');
    const { family, role } = target;
    if (!this.typed.has(family)) this.typed.add(family);
    this.skipBlanks();
    const valueStart = this.pos;
    while (this.pos < this.end && !isBlank(this.text.charCodeAt(this.pos))) this.pos++;
    const valueEnd = this.pos;
    const value = parseGoFloatAt(this.text, valueStart, valueEnd);
    if (value === undefined) this.fail(`expected float as value, got "${this.text.slice(valueStart, valueEnd)}"`);
    this.skipBlanks();
    let timestamp: string | undefined;
    if (this.pos < this.end) {
      const stampStart = this.pos;
      while (this.pos < this.end && !isBlank(this.text.charCodeAt(this.pos))) this.pos++;
      timestamp = this.text.slice(stampStart, this.pos);
      if (!/^[+-]?\d{1,19}$/.test(timestamp) || BigInt(timestamp) > 2n ** 63n - 1n || BigInt(timestamp) < -(2n ** 63n)) {
        this.fail(`expected integer as timestamp, got "${timestamp}"`);
      }
      this.skipBlanks();
      if (this.pos < this.end) this.fail(`spurious string after timestamp: "${this.text.slice(this.pos, this.end)}"`);
    }
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.record(family, role, labels, bound, value, timestamp);
  }

  private observe(metric: Metric, kind: ValueKind, bound: number, mode: ValueMode): void {
    this.sampled = true;
    this.observer?.sample({ start: this.lineStart, valueStart: this.valueStart, valueEnd: this.valueEnd, end: this.end }, metric, kind, bound, mode);
  }

  private record(family: Family, role: Role, labels: readonly string[], bound: number | undefined, value: number, timestamp: string | undefined): void {
    if (family.type !== 'summary' && family.type !== 'histogram') {
      const metric: Metric = { labels: labels.slice(), value, sum: 0, count: 0 };
      if (timestamp !== undefined) metric.timestamp = timestamp;
      family.metrics.push(metric);
      this.observe(metric, 'value', 0, 'as-is');
      return;
    }
    const last = this.lastGroup;
    let metric = last && last.family === family && sameLabels(last.labels, labels) ? last.metric : undefined;
    if (!metric) {
      const key = groupKey(family.name, labels);
      metric = this.grouped.get(key);
      if (!metric) {
        metric = { labels: labels.slice(), value: 0, sum: 0, count: 0, points: [] };
        this.grouped.set(key, metric);
        family.metrics.push(metric);
      }
      this.lastGroup = { family, labels: metric.labels, metric };
    }
    if (timestamp !== undefined) metric.timestamp = timestamp;
    const histogram = family.type === 'histogram';
    if (role === 'count') {
      if (histogram && value < 0) this.fail(`negative count for histogram "${family.name}"`);
      metric.count = histogram ? value : Math.trunc(value);
      this.observe(metric, 'count', 0, histogram ? 'non-negative' : 'truncated');
    } else if (role === 'sum') {
      metric.sum = value;
      this.observe(metric, 'sum', 0, 'as-is');
    } else if (bound !== undefined) {
      if (histogram && value < 0) this.fail(`negative bucket population for histogram "${family.name}"`);
      setPoint(metric.points!, bound, value, false);
      this.observe(metric, 'point', bound, histogram ? 'non-negative' : 'as-is');
    } else {
      this.observe(metric, 'ignored', 0, 'as-is');
    }
  }
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Go's LabelsToSignature: the family and the label set, whatever the order. */
function groupKey(name: string, labels: readonly string[]): string {
  const pairs: string[] = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push(`${labels[i]}\u0000${labels[i + 1]}`);
  return `${name}\u0001${pairs.sort().join('\u0001')}`;
}

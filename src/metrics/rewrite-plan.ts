import { formatGoFloat, parseGoFloat } from './go-float.js';
import { clusterMerge } from './merge.js';
import type { Metric } from './model.js';
import { FamilyRevisited, parseText, parseTextStream, type LineObserver } from './text-parse.js';
import { writeFamily, writeFamilyLines, type LineSink } from './text-write.js';

/** How a line of the text is read under a plan. */
const enum Mode {
  /** Not a sample: the whole line must be as before. */
  Line,
  AsIs,
  /** A summary's count: Go keeps it as an unsigned integer. */
  Truncated,
  /** A histogram's bucket or count: a negative one is an error (the full rewrite says so). */
  NonNegative,
  /** A sample that sets nothing (a summary line without a quantile): its value must still be a number. */
  Ignored,
}

interface Target {
  readonly metric: Metric;
  readonly kind: string;
  readonly bound: number;
}

/**
 * Envoy's text for a dataplane has the same lines scrape after scrape; only the values change. A
 * plan is the rewrite of one text, compiled: for each line, the text before its value and the
 * number of the answer it adds to; for the answer, the text between its numbers. A later text
 * whose every line starts as before is rewritten by reading its values alone.
 */
class Plan {
  constructor(
    /** The text the plan was compiled from; each line's start is a range of it. */
    private readonly source: Buffer,
    private readonly prefixStarts: Int32Array,
    private readonly prefixLengths: Int32Array,
    private readonly modes: Uint8Array,
    /** The answer's number each line adds to, -1 for none. */
    private readonly lineSlots: Int32Array,
    /** The text before each of the answer's numbers, then the text after the last, as UTF-8 one after another. */
    private readonly segments: Buffer,
    /** Where each of those starts in `segments`, and where the last ends. */
    private readonly segmentStarts: Int32Array,
    private readonly slots: Int32Array,
    private readonly slotCount: number,
  ) {
    this.valueLengths = new Int32Array(prefixStarts.length);
    for (let line = 0; line < prefixStarts.length; line++) {
      const valueStart = prefixStarts[line]! + prefixLengths[line]!;
      const newline = source.indexOf(10, valueStart);
      this.valueLengths[line] = (newline < 0 ? source.length : newline) - valueStart;
    }
  }

  /** The length of each line's value in the source. */
  private readonly valueLengths: Int32Array;

  /**
   * Reads text's complete lines from where `reading` stands up to `limit` (at the end of the
   * text, `final`, also a last line without a newline), adding their values up; marks the reading
   * failed when the text's shape (or a value) differs from what the plan knows. The text is
   * compared with the source in runs: a line whose value is byte for byte the source's extends
   * the run, and only a value that changed ends one, so an Envoy whose values mostly stand still
   * costs a few comparisons, not one per line.
   */
  read(text: Buffer, limit: number, final: boolean, reading: Reading): void {
    const source = this.source;
    const values = reading.values;
    const count = this.prefixLengths.length;
    let { start, line, runText, runSource } = reading;
    const fail = () => void (reading.failed = true);
    while (start < limit && !reading.failed) {
      if (line >= count) return fail();
      const length = this.prefixLengths[line]!;
      if (start + length > limit) {
        if (final) fail();
        break;
      }
      const mode = this.modes[line]!;
      const valueStart = start + length;
      const sourceValueStart = this.prefixStarts[line]! + length;
      const sourceValueLength = this.valueLengths[line]!;
      // The value runs to the end of the line: read as an integer on the way, unless it is none.
      let end = valueStart;
      let integer = 0;
      let digits = true;
      let same = true;
      for (; end < limit; end++) {
        const c = text[end]!;
        if (c === 10) break;
        if (c >= 48 && c <= 57) integer = integer * 10 + (c - 48);
        else digits = false;
        if (source[sourceValueStart + end - valueStart] !== c) same = false;
      }
      // The rest of the line is still to come.
      if (end === limit && !final) break;
      if (end - valueStart !== sourceValueLength) same = false;
      if (mode === Mode.Line) {
        if (end !== valueStart) return fail();
      } else {
        // A blank in the value (a timestamp) makes it no number: the shape changed.
        const value = digits && end > valueStart && end - valueStart <= 15 ? integer : parseGoFloat(text.toString('latin1', valueStart, end));
        if (value === undefined || (mode === Mode.NonNegative && value < 0)) return fail();
        const slot = this.lineSlots[line]!;
        if (slot >= 0) values[slot] += mode === Mode.Truncated ? Math.trunc(value) : value;
      }
      if (!same) {
        if (text.compare(source, runSource, sourceValueStart, runText, valueStart) !== 0) return fail();
        runText = end;
        runSource = sourceValueStart + sourceValueLength;
      }
      line++;
      start = end + 1;
    }
    Object.assign(reading, { start, line, runText, runSource });
    if (final && !reading.failed && (line !== count || text.compare(source, runSource, source.length, runText, text.length) !== 0)) fail();
  }

  reading(): Reading {
    return { values: new Float64Array(this.slotCount), start: 0, line: 0, runText: 0, runSource: 0, failed: false };
  }

  /** The last answer: its numbers, its bytes (a copy of the plan's own) and where each of its segments starts in them. */
  private last?: { values: Float64Array; bytes: Buffer; length: number; starts: Int32Array };

  /**
   * The answer, written straight into one buffer: no string of it is ever made. A run of numbers
   * that stand still since the last answer is copied from it with their text, in one go, so that
   * an answer costs about what changed in it. A plan used once (`keep` false) keeps no copy.
   */
  render(values: Float64Array, take: Take, keep = true): Buffer {
    const segments = this.segments;
    const segmentStarts = this.segmentStarts;
    const slots = this.slots;
    const count = slots.length;
    const out = take(segments.length + count * MAX_NUMBER_BYTES);
    const last = this.last;
    const starts = new Int32Array(count + 1);
    let at = 0;
    // The first of a run of numbers (the last segment counts as one) unchanged since the last answer.
    let run = -1;
    const copyRun = (to: number, end: number) => {
      const from = last!.starts[run]!;
      for (let k = run; k < to; k++) starts[k] = at + last!.starts[k]! - from;
      at += last!.bytes.copy(out, at, from, end);
      run = -1;
    };
    for (let k = 0; k <= count; k++) {
      if (last !== undefined && (k === count || Object.is(values[slots[k]!], last.values[slots[k]!]))) {
        if (run < 0) run = k;
        continue;
      }
      if (run >= 0) copyRun(k, last!.starts[k]!);
      starts[k] = at;
      const from = segmentStarts[k]!;
      const to = segmentStarts[k + 1]!;
      // A native copy costs more than a loop over a short segment (most are one sample's labels).
      if (to - from > 64) at += segments.copy(out, at, from, to);
      else for (let i = from; i < to; i++) out[at++] = segments[i]!;
      if (k < count) at = writeNumber(out, at, values[slots[k]!]!);
    }
    if (run >= 0) copyRun(count + 1, last!.length);
    if (!keep) return out.subarray(0, at);
    const bytes = last !== undefined && last.bytes.length >= at ? last.bytes : Buffer.allocUnsafeSlow(at + (at >> 3));
    out.copy(bytes, 0, 0, at);
    this.last = { values, bytes, length: at, starts };
    return out.subarray(0, at);
  }
}

/** How far a plan has read one text. */
interface Reading {
  readonly values: Float64Array;
  /** Where the next line starts. */
  start: number;
  line: number;
  /** text[runText, start) is still to be compared with the source from runSource on. */
  runText: number;
  runSource: number;
  /** The text's shape (or a value) is not the plan's. */
  failed: boolean;
}

/** Where a rewrite's answer is written: a buffer of at least `size` bytes. */
export type Take = (size: number) => Buffer;
const allocate: Take = (size) => Buffer.allocUnsafe(size);

/** The longest a number is in Go's format: `-2.2250738585072014e-308`. */
const MAX_NUMBER_BYTES = 24;

/** formatGoFloat(value) written into out at `at`; the common integer in digits without a string. */
function writeNumber(out: Buffer, at: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= 1e6) return at + out.write(formatGoFloat(value), at, 'latin1');
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = value;
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
}

/** Envoy's text with Kuma's rewrite, family by family, and the plan of it when later texts can use one. */
function compile(source: Buffer, bootstrapClusters: ReadonlySet<string>, take: Take): { bytes: Buffer; plan?: Plan } {
  const text = source.toString('utf8');
  const prefixStarts: number[] = [];
  const prefixLengths: number[] = [];
  const modes: number[] = [];
  const targets: Array<Target | undefined> = [];
  // Offsets into the text are offsets into its bytes only when every character is one byte.
  let plannable = text.length === source.length;
  const seen = new Map<Metric, Set<string>>();
  const observer: LineObserver = {
    other(start, end) {
      prefixStarts.push(start);
      prefixLengths.push(end - start);
      modes.push(Mode.Line);
      targets.push(undefined);
    },
    sample(line, metric, kind, bound, mode) {
      // A timestamp or blanks after the value: such a text is rewritten in full every time.
      if (line.valueEnd !== line.end) plannable = false;
      prefixStarts.push(line.start);
      prefixLengths.push(line.valueStart - line.start);
      if (kind === 'ignored') {
        modes.push(Mode.Ignored);
        targets.push(undefined);
        return;
      }
      modes.push(mode === 'truncated' ? Mode.Truncated : mode === 'non-negative' ? Mode.NonNegative : Mode.AsIs);
      targets.push({ metric, kind, bound });
      // A number set twice in one metric: the last wins, which a sum cannot say.
      const keys = seen.get(metric) ?? new Set<string>();
      const key = `${kind}${bound}`;
      if (keys.has(key)) plannable = false;
      keys.add(key);
      seen.set(metric, keys);
    },
  };

  const mergedInto = new Map<Metric, Metric>();
  const merge = clusterMerge(bootstrapClusters, (from, into) => mergedInto.set(from, into));
  const slotsOf = new Map<Metric, Map<string, number>>();
  const slotOf = (metric: Metric, kind: string, bound: number, create: boolean): number => {
    let slots = slotsOf.get(metric);
    if (!slots) slotsOf.set(metric, (slots = new Map()));
    const key = `${kind}${bound}`;
    let slot = slots.get(key);
    if (slot === undefined && create) slots.set(key, (slot = values.length));
    return slot ?? -1;
  };
  const segments: string[] = [];
  const slots: number[] = [];
  const values: number[] = [];
  let pending = '';
  const sink: LineSink = {
    text(part) {
      pending += part;
    },
    value(value, metric, kind, bound) {
      segments.push(pending);
      pending = '';
      const slot = slotOf(metric, kind, bound, true);
      values[slot] = value;
      slots.push(slot);
    },
  };
  try {
    parseTextStream(text, (family) => writeFamilyLines({ header: (part) => (pending += part), metric: (write) => write(sink) }, merge(family)), observer);
  } catch (error) {
    if (!(error instanceof FamilyRevisited)) throw error;
    return { bytes: Buffer.from(parseText(text).map(clusterMerge(bootstrapClusters)).map(writeFamily).join('')) };
  }
  segments.push(pending);
  const lineSlots = new Int32Array(targets.length);
  targets.forEach((target, line) => {
    const slot = target ? slotOf(mergedInto.get(target.metric) ?? target.metric, target.kind, target.bound, false) : -1;
    if (target && slot < 0) plannable = false;
    lineSlots[line] = slot;
  });
  const segmentStarts = new Int32Array(segments.length + 1);
  segments.forEach((segment, k) => (segmentStarts[k + 1] = segmentStarts[k]! + Buffer.byteLength(segment)));
  const plan = new Plan(
    // The text may be a buffer the caller reuses: the plan keeps its own copy.
    plannable ? Buffer.from(source) : source,
    Int32Array.from(prefixStarts),
    Int32Array.from(prefixLengths),
    Uint8Array.from(modes),
    lineSlots,
    Buffer.from(segments.join('')),
    segmentStarts,
    Int32Array.from(slots),
    values.length,
  );
  return { bytes: plan.render(Float64Array.from(values), take, plannable), ...(plannable && { plan }) };
}

/** One Envoy's text read as it arrives, then rewritten. */
export interface EnvoyReading {
  /** The text's first `length` bytes are in `text` (the same buffer each time, or a larger copy of it). */
  progress(text: Buffer, length: number): void;
  /** The whole text is in: its rewrite, written into a buffer from take. Throws on a text the rewrite refuses. */
  finish(text: Buffer, take: Take): Buffer;
  /** Whether the compiled rewrite reads this text (so far): its shape is the last one's. */
  readonly followsPlan: boolean;
}

/**
 * Kuma's rewrite of one Envoy's text, scrape after scrape: the first text (and any whose shape
 * changed) is parsed, merged and written in full, later ones only have their values read, as
 * they arrive (a scrape of an Envoy with ten thousand series then costs a fraction). The plan
 * holds a copy of the last full text, and the answer's text between the numbers.
 */
export class EnvoyRewriter {
  private last?: { plan: Plan; clusters: ReadonlySet<string> };

  reading(bootstrapClusters: ReadonlySet<string>): EnvoyReading {
    const plan = this.last?.clusters === bootstrapClusters ? this.last.plan : undefined;
    const reading = plan?.reading();
    return {
      get followsPlan() {
        return plan !== undefined && !reading!.failed;
      },
      progress: (text, length) => {
        if (plan && !reading!.failed) plan.read(text, length, false, reading!);
      },
      finish: (text, take) => {
        if (plan && !reading!.failed) plan.read(text, text.length, true, reading!);
        if (plan && !reading!.failed) return plan.render(reading!.values, take);
        if (this.last?.plan === plan) this.last = undefined;
        const compiled = compile(text, bootstrapClusters, take);
        if (compiled.plan) this.last = { plan: compiled.plan, clusters: bootstrapClusters };
        return compiled.bytes;
      },
    };
  }

  /** The rewrite of a whole text, as bytes (by default in a new buffer); text may be reused once this returns. */
  rewrite(text: Buffer, bootstrapClusters: ReadonlySet<string>, take: Take = allocate): Buffer {
    return this.reading(bootstrapClusters).finish(text, take);
  }
}

import { formatGoFloat } from './go-float.js';
import type { Family, Metric } from './model.js';

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function escape(text: string, quoted: boolean): string {
  if (!/[\\\n"]/.test(text)) return text;
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return quoted ? escaped.replace(/"/g, '\\"') : escaped;
}

function writeName(name: string): string {
  return LEGACY_NAME.test(name) ? name : `"${escape(name, true)}"`;
}

function sampleLine(name: string, metric: Metric, extraName: string | undefined, extraValue: number, value: number): string {
  const legacy = LEGACY_NAME.test(name);
  const labels = metric.labels;
  let line = legacy ? name : `{"${escape(name, true)}"`;
  let separator = legacy ? '{' : ',';
  for (let i = 0; i < labels.length; i += 2) {
    line += `${separator}${writeName(labels[i]!)}="${escape(labels[i + 1]!, true)}"`;
    separator = ',';
  }
  if (extraName !== undefined) {
    line += `${separator}${extraName}="${formatGoFloat(extraValue)}"`;
    separator = ',';
  }
  if (separator === ',') line += '}';
  line += ` ${formatGoFloat(value)}`;
  if (metric.timestamp !== undefined) line += ` ${BigInt(metric.timestamp)}`;
  return `${line}\n`;
}

/**
 * One family as Go's expfmt.MetricFamilyToText prints it: `# HELP` only when there was one,
 * `# TYPE`, then the samples; a histogram without a `+Inf` bucket gets one holding its count.
 * Histogram buckets and summary quantiles come in ascending order (Go's order is random).
 */
export function writeFamily(family: Family): string {
  const name = family.name;
  let out = family.help === undefined ? '' : `# HELP ${writeName(name)} ${escape(family.help, false)}\n`;
  out += `# TYPE ${writeName(name)} ${family.type}\n`;
  for (const metric of family.metrics) {
    if (family.type !== 'summary' && family.type !== 'histogram') {
      out += sampleLine(name, metric, undefined, 0, metric.value);
      continue;
    }
    const points = [...(metric.points ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
    if (family.type === 'summary') {
      for (const [quantile, value] of points) out += sampleLine(name, metric, 'quantile', quantile, value);
    } else {
      for (const [bound, count] of points) out += sampleLine(`${name}_bucket`, metric, 'le', bound, count);
      if (!metric.points?.has(Infinity)) out += sampleLine(`${name}_bucket`, metric, 'le', Infinity, metric.count);
    }
    out += sampleLine(`${name}_sum`, metric, undefined, 0, metric.sum);
    out += sampleLine(`${name}_count`, metric, undefined, 0, metric.count);
  }
  return out;
}

/** Families as Kuma's mutators write them: each followed by one empty line. */
export function writeFamilies(families: Iterable<Family>): string {
  let out = '';
  for (const family of families) out += `${writeFamily(family)}\n`;
  return out;
}

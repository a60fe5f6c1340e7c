import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Figure {
  readonly id: string;
  readonly name: string;
  readonly unit: 'ms' | 'MB' | '% of a core' | 'queries/s' | 'lines/s' | 'lines/CPU-s';
  /** Median of the runs. */
  readonly value: number;
  /** Median of the same-run baseline, when the figure has one. */
  readonly baseline?: number;
  readonly baselineName?: string;
  readonly ratio?: number;
  readonly goal?: string;
  readonly met?: boolean;
  readonly runs: readonly number[];
  readonly note?: string;
}

function fmt(value: number | undefined, unit?: string): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  const digits = unit === '% of a core' ? 2 : unit === 'MB' ? 1 : unit === 'ms' && value < 1 ? 3 : 0;
  return value.toFixed(digits);
}

/** A Markdown table: readable in a terminal and pasted as is into the README. */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.id,
    `${f.name} (${f.unit})`,
    fmt(f.value, f.unit),
    f.baseline === undefined ? '—' : `${fmt(f.baseline, f.unit)} (${f.baselineName})`,
    f.ratio === undefined ? '—' : `${f.ratio.toFixed(2)}x`,
    f.goal ?? '—',
    f.met === undefined ? '—' : f.met ? 'met' : 'MISSED',
  ]);
  const header = ['#', 'Figure', 'kuma-dp (median)', 'Bare Node (median)', 'Ratio', 'Goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function writeResults(file: string, results: object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

import { UserError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The longest wait a timer can hold (2^31 - 1 ms, ~24.8 days): a longer one would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses a duration the way Go's time.ParseDuration does for the units kuma-dp's settings use
 * ("500ms", "30s", "1m30s", "2h"), so existing env files keep working. A bare "0" is zero.
 * Returns milliseconds, never more than MAX_DURATION_MS.
 */
export function parseDuration(raw: string, source: string): number {
  const text = raw.trim();
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) break;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    index = part.lastIndex;
  }
  if (text.length === 0 || index !== text.length) {
    throw new UserError(`invalid ${source} "${raw}": expected a duration such as 500ms, 30s, 1m or 1h30m`);
  }
  const ms = Math.round(total);
  if (ms > MAX_DURATION_MS) {
    throw new UserError(`invalid ${source} "${raw}": longer than kuma-dp can wait (at most 596h, about 24 days)`);
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  return `${ms / 1000}s`;
}

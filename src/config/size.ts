import { UserError } from '../errors.js';

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/**
 * Parses an amount of memory: bytes, or a whole number with a binary unit ("512KiB", "1MiB",
 * "2GiB"; the unit's case does not matter). Decimal units (KB, MB) are refused rather than
 * guessed at. Returns bytes, at most `max`.
 */
export function parseByteSize(max: number) {
  return (raw: string, source: string): number => {
    const match = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim());
    const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
    if (!match || unit === undefined) {
      throw new UserError(`invalid ${source} "${raw}": expected a size such as 512KiB, 1MiB or 1048576 (bytes)`);
    }
    const bytes = Number(match[1]) * unit;
    if (bytes > max) throw new UserError(`invalid ${source} "${raw}": at most ${formatByteSize(max)}`);
    return bytes;
  };
}

export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

import type { Logger } from './logger.js';

/**
 * Lets a repeated event through at most once per interval for each key (one log line a minute per
 * failing source, one per ten seconds of bad input lines), and counts the events of that key it
 * held back in between, so that the next one let through can say how many it stands for.
 */
export class Throttle {
  private readonly keys = new Map<string, { at: number; heldBack: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Undefined when this event of `key` is held back; otherwise it goes through, and this is how
   * many of that key were held back since the last one that went through.
   */
  pass(key: string): number | undefined {
    const now = this.now();
    const entry = this.keys.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.heldBack += 1;
      return undefined;
    }
    this.keys.set(key, { at: now, heldBack: 0 });
    return entry?.heldBack ?? 0;
  }

  allow(key: string): boolean {
    return this.pass(key) !== undefined;
  }

  /** A warning of `key` through the throttle, with `alsoSince`: how many were held back before it. */
  warn(logger: Logger, key: string, fields: Record<string, unknown>, message: string): void {
    const heldBack = this.pass(key);
    if (heldBack === undefined) return;
    logger.warn(heldBack > 0 ? { ...fields, alsoSince: heldBack } : fields, message);
  }

  /** Forgets a key, so that its next event is let through (e.g. once the source works again). */
  reset(key: string): void {
    this.keys.delete(key);
  }
}

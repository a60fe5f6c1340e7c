import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../logging/logger.js';

/**
 * A warning that may repeat at a high rate (once per bad input line, say): logged at most once
 * per interval, with the number of occurrences it stood for since the last time it was logged.
 */
export class ThrottledWarning {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  warn(logger: Logger, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    logger.warn(this.suppressed > 0 ? { ...fields, alsoSince: this.suppressed } : fields, message);
    this.lastAt = now;
    this.suppressed = 0;
  }
}

/** Lets a repeated event through at most once per interval for each key (e.g. one log line a minute per failing source). */
export class Throttle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  allow(key: string): boolean {
    const now = this.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }

  /** Forgets a key, so that its next event is let through (e.g. once the source works again). */
  reset(key: string): void {
    this.last.delete(key);
  }
}

import type { Clock } from '../../src/runtime/clock.js';

/** A clock whose time moves only when the test says so. */
export class ManualClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private next = 1;
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };
  pending(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.callback();
      await flush();
    }
    this.time = until;
    await flush();
  }
}

export const flush = () => new Promise((resolve) => setImmediate(resolve));

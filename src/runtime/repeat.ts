import type { Clock } from './clock.js';

export interface Repeating {
  /** No run starts after this; resolves once the run under way (if any) has ended. */
  stop(): Promise<void>;
  /** True once stop() was called: a long run can end early. */
  readonly stopped: boolean;
}

/**
 * Runs `work` every `interval`, each run starting an interval after the last one ended, so runs
 * never overlap however slow the peer is. `work` must not reject: it handles its own failures.
 * A function as `interval` is asked after each run, so that the run can change the pace.
 */
export function repeat(clock: Clock, interval: number | (() => number), work: () => Promise<void>, options: { readonly now?: boolean } = {}): Repeating {
  const intervalMs = typeof interval === 'number' ? () => interval : interval;
  let stopped = false;
  let timer: unknown;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    // In a microtask: `work` may ask the returned handle whether it was stopped.
    running = Promise.resolve().then(work).then(() => {
      if (!stopped) timer = clock.setTimeout(run, intervalMs());
    });
  };
  if (options.now) run();
  else timer = clock.setTimeout(run, intervalMs());
  return {
    get stopped() {
      return stopped;
    },
    stop: async () => {
      stopped = true;
      clock.clearTimeout(timer);
      await running;
    },
  };
}

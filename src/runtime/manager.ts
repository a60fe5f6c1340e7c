import type { Logger } from '../logging/logger.js';
import type { Clock } from './clock.js';
import type { Component, Running } from './component.js';
import type { ReadinessGates } from './readiness.js';

/** Go kuma-dp's resilient component: 5s after the first failure, doubling up to a minute. */
export const RESILIENT_BACKOFF = { baseMs: 5_000, maxMs: 60_000 } as const;
/** No component's stop may hold the agent longer than this. */
export const STOP_BOUND_MS = 10_000;

export interface ManagerOptions {
  readonly components: readonly Component[];
  readonly logger: Logger;
  readonly clock: Clock;
  readonly readiness: ReadinessGates;
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

/** Why the dataplane ended: the component that ended it, and its error when it failed. */
export interface Outcome {
  readonly component: string;
  readonly error?: Error;
}

interface Slot {
  readonly component: Component;
  readonly logger: Logger;
  running?: Running;
  startedAt: number;
  failures: number;
  retry?: unknown;
}

/**
 * Starts components in order and stops them in reverse. A component that is not resilient ends
 * the dataplane when it ends or fails; a resilient one is restarted with backoff meanwhile.
 */
export class ComponentManager {
  private readonly slots: Slot[];
  private stopping?: Promise<void>;
  private resolveDone!: (outcome: Outcome) => void;
  /** Settles once a component that is not resilient ended or failed and everything was stopped. */
  readonly done: Promise<Outcome>;

  constructor(private readonly options: ManagerOptions) {
    this.slots = options.components.map((component) => ({
      component,
      logger: options.logger.child({ component: component.name }),
      startedAt: 0,
      failures: 0,
    }));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Starts every component in order. When one that is not resilient cannot start, those already
   * started are stopped and the error is thrown; a resilient one is retried later.
   */
  async start(): Promise<void> {
    for (const slot of this.slots) {
      if (this.stopping) return;
      try {
        await this.startSlot(slot);
      } catch (error) {
        if (slot.component.resilient) {
          this.retry(slot, error as Error);
          continue;
        }
        await this.stop();
        throw error;
      }
    }
  }

  /** Stops every running component in reverse order; the same promise for every caller. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of [...this.slots].reverse()) {
        if (slot.retry !== undefined) this.options.clock.clearTimeout(slot.retry);
        slot.retry = undefined;
        const running = slot.running;
        slot.running = undefined;
        if (running) await this.bounded(slot, running);
      }
    })();
    return this.stopping;
  }

  private async startSlot(slot: Slot): Promise<void> {
    const running = await slot.component.start({ logger: slot.logger, readiness: this.options.readiness });
    if (this.stopping) {
      await this.bounded(slot, running);
      return;
    }
    slot.running = running;
    slot.startedAt = this.options.clock.now();
    running.ended?.then(
      () => this.ended(slot, running),
      (error: unknown) => this.ended(slot, running, error instanceof Error ? error : new Error(String(error))),
    );
  }

  private ended(slot: Slot, running: Running, error?: Error): void {
    if (slot.running !== running || this.stopping) return;
    slot.running = undefined;
    if (slot.component.resilient) {
      this.retry(slot, error ?? new Error('ended unexpectedly'));
      return;
    }
    if (error) slot.logger.error({ err: error.message }, 'component failed; stopping the dataplane');
    void this.stop().then(() => this.resolveDone({ component: slot.component.name, ...(error && { error }) }));
  }

  private retry(slot: Slot, error: Error): void {
    const { clock } = this.options;
    const backoff = this.options.backoff ?? RESILIENT_BACKOFF;
    // A component that ran a long while before failing starts over from the shortest delay.
    if (slot.startedAt > 0 && clock.now() - slot.startedAt >= backoff.maxMs) slot.failures = 0;
    slot.failures += 1;
    const delay = Math.min(backoff.baseMs * 2 ** (slot.failures - 1), backoff.maxMs);
    slot.logger.warn({ err: error.message, restartInMs: delay, failures: slot.failures }, 'component failed; restarting it');
    slot.retry = clock.setTimeout(() => {
      slot.retry = undefined;
      if (this.stopping) return;
      this.startSlot(slot).catch((failure: Error) => this.retry(slot, failure));
    }, delay);
  }

  private async bounded(slot: Slot, running: Running): Promise<void> {
    const { clock } = this.options;
    let timer: unknown;
    const boundMs = running.stopBoundMs ?? STOP_BOUND_MS;
    const late = new Promise<'late'>((resolve) => (timer = clock.setTimeout(() => resolve('late'), boundMs)));
    try {
      const outcome = await Promise.race([running.stop().then(() => 'stopped' as const), late]);
      if (outcome === 'late') slot.logger.warn({ boundMs }, 'component did not stop in time; going on without it');
    } catch (error) {
      slot.logger.warn({ err: (error as Error).message }, 'component failed to stop cleanly');
    } finally {
      clock.clearTimeout(timer);
    }
  }
}

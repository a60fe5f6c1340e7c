import { realClock } from '../runtime/clock.js';
import { repeat } from '../runtime/repeat.js';
import type { EnvoyAdmin } from './admin-client.js';

export interface WatchOptions {
  /** Poll interval until Envoy is live: short, so readiness follows Envoy closely. */
  readonly startingIntervalMs?: number;
  /** Poll interval once live: long, so an idle agent costs next to nothing. */
  readonly liveIntervalMs?: number;
}

/**
 * Polls one Envoy's admin API and reports when it becomes live with configuration, or stops
 * being so. Returns a function that stops the polling.
 */
export function watchEnvoy(admin: EnvoyAdmin, onChange: (live: boolean) => void, options: WatchOptions = {}): () => void {
  const startingMs = options.startingIntervalMs ?? 100;
  const liveMs = options.liveIntervalMs ?? 1000;
  let live = false;
  // The xDS update counters never go back down, so once seen they need not be read again.
  let configured = false;

  const poll = async () => {
    let now = false;
    try {
      const ready = await admin.readiness();
      if (ready.live && !configured) configured = await admin.hasConfiguration();
      now = ready.live && configured;
    } catch {
      now = false;
    }
    if (polling.stopped) return;
    if (now !== live) {
      live = now;
      onChange(live);
    }
  };
  const polling = repeat(realClock, () => (live ? liveMs : startingMs), poll, { now: true });
  return () => void polling.stop();
}

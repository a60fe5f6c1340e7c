import { isReady, type State } from '../supervisor/machine.js';

/** The answers of Go kuma-dp's readiness endpoint, kept so that existing probes keep working. */
export type Readiness = 'READY' | 'NOT_READY' | 'TERMINATING';

const STOPPING_PHASES: ReadonlySet<string> = new Set(['draining', 'stopping-app', 'stopping', 'stopped']);

/** TERMINATING from the first stop signal on (and for any stop the supervisor began itself). */
export function readinessOf(state: State): Readiness {
  if (state.stopSignals > 0 || STOPPING_PHASES.has(state.phase)) return 'TERMINATING';
  return isReady(state) ? 'READY' : 'NOT_READY';
}

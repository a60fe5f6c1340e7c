import { isReady, type State } from '../supervisor/machine.js';

/**
 * The one line `systemctl status` shows for a dataplane; `wasReady` tells a start from a relapse,
 * and `waitingFor` names the readiness gates other than Envoy that are still closed.
 */
export function statusOf(state: State, wasReady: boolean, waitingFor: readonly string[] = []): string {
  switch (state.phase) {
    case 'draining':
      return 'draining: Envoy stops taking traffic, then stops';
    case 'stopping-app':
      return 'stopping the application';
    case 'stopping':
      return 'stopping Envoy';
    case 'stopped':
      return 'stopped';
    case 'backing-off':
      return `restarting Envoy after crash ${state.restarts + 1}`;
    case 'starting':
    case 'running':
      if (isReady(state)) {
        if (waitingFor.length > 0) return `starting: waiting for ${waitingFor.join(', ')}`;
        return state.restarts === 0 ? 'ready' : `ready (Envoy restarted ${state.restarts} times after crashes)`;
      }
      if (state.restarts > 0) return `restarting Envoy after crash ${state.restarts}`;
      if (state.phase === 'starting') return 'starting: fetching the bootstrap from the control plane';
      return wasReady ? 'not ready: Envoy is no longer live' : 'starting: waiting for Envoy to be live with its configuration';
  }
}

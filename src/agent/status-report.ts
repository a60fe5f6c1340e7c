import type { Readiness } from '../runtime/readiness.js';
import type { Dataplane } from '../dataplane/dataplane.js';

/** One dataplane as `kuma-dp status` shows it (GET /status on the readiness port). */
export interface DataplaneReport {
  readonly mesh: string;
  readonly name: string;
  /** The supervisor's phase, `ready` when it is running and ready, `ended` once it stopped. */
  readonly state: string;
  readonly readiness: Readiness;
  readonly envoyPid: number | null;
  readonly uptimeSeconds: number | null;
  readonly restarts: number;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null } | null;
  /** Set once the dataplane ended (a crash loop, its app's exit, a stop). */
  readonly exitCode: number | null;
}

export interface StatusReport {
  readonly readiness: Readiness;
  readonly dataplanes: readonly DataplaneReport[];
}

export function dataplaneStatus(member: { readonly mesh: string; readonly name: string; readonly dataplane: Dataplane }, exitCode: number | undefined, now: number): DataplaneReport {
  const state = member.dataplane.supervisor.value;
  const readiness = member.dataplane.status.value?.readiness ?? 'NOT_READY';
  const envoy = state?.envoy;
  return {
    mesh: member.mesh,
    name: member.name,
    state: exitCode !== undefined ? 'ended' : readiness === 'READY' ? 'ready' : (state?.phase ?? 'starting'),
    readiness: exitCode !== undefined ? 'TERMINATING' : readiness,
    envoyPid: envoy?.pid ?? null,
    uptimeSeconds: envoy ? Math.max(0, Math.round((now - envoy.startedAt) / 1000)) : null,
    restarts: state?.restarts ?? 0,
    lastExit: state?.lastExit ? { code: state.lastExit.code, signal: state.lastExit.signal } : null,
    exitCode: exitCode ?? null,
  };
}

/**
 * The supervisor's decisions as a pure function: (state, event) → (state, effects). No clocks,
 * processes or sockets here, so every rule is unit-tested without sleeping; `driver.ts` performs
 * the effects. Envoy processes are told apart by pid so that, with hot restart, an old epoch's exit
 * is not mistaken for the current one's.
 */
import type { Level } from 'pino';
import { describeExit, exitStatus, type ProcessExit } from '../process/exit.js';

export type Phase = 'starting' | 'running' | 'backing-off' | 'draining' | 'stopping-app' | 'stopping' | 'stopped';
export type TimerName = 'restart' | 'stable' | 'drain' | 'kill' | 'kill-app';

export interface Policy {
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Consecutive crashes before giving up; 0 never gives up. */
  readonly limit: number;
  /** How long Envoy must stay LIVE for the crash count to reset. */
  readonly stableAfterMs: number;
  readonly drainTimeMs: number;
  readonly stopTimeoutMs: number;
  /** App mode: an application is started once the dataplane is ready, and stopped before Envoy. */
  readonly app: boolean;
}

export interface EnvoyInstance {
  readonly pid: number;
  readonly startedAt: number;
  readonly live: boolean;
}

export interface State {
  readonly phase: Phase;
  readonly envoy?: EnvoyInstance;
  /** Restarts after crashes since the agent started. */
  readonly restarts: number;
  readonly consecutiveCrashes: number;
  readonly lastExit?: ProcessExit;
  /** Set from the moment a stop began: a signal, the app's end, Envoy's clean exit, a crash loop. */
  readonly stopping: boolean;
  /** SIGTERM/SIGINT received: the second skips the drain, the third kills. */
  readonly stopSignals: number;
  /** App mode: absent until the app is started (once); its pid once known. */
  readonly app?: AppStatus;
  /** The code to exit with once everything is stopped. */
  readonly exitCode: number;
}

export type AppStatus = { readonly phase: 'starting' } | { readonly phase: 'running'; readonly pid: number } | { readonly phase: 'gone' };

export type Event =
  | { readonly type: 'start' }
  | { readonly type: 'spawned'; readonly pid: number; readonly at: number }
  /** retryable: Envoy's process could not be started (EMFILE, EACCES...), which may heal; else the launch failed before it (e.g. the CP refused). */
  | { readonly type: 'spawn-failed'; readonly reason: string; readonly retryable?: boolean }
  | { readonly type: 'exited'; readonly pid: number; readonly exit: ProcessExit; readonly at: number }
  | { readonly type: 'live'; readonly pid: number; readonly live: boolean }
  /** Envoy could not be told to start draining (its admin did not answer /healthcheck/fail). */
  | { readonly type: 'drain-failed'; readonly pid: number }
  | { readonly type: 'timer'; readonly name: TimerName }
  | { readonly type: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly type: 'app-started'; readonly pid: number }
  | { readonly type: 'app-exited'; readonly pid: number; readonly exit: ProcessExit }
  | { readonly type: 'app-failed'; readonly reason: string };

/**
 * What a log line reports, as a stable field: tools and tests match on `event`, so that a message
 * can be reworded freely.
 */
export type LogEvent =
  | 'envoy-started'
  | 'envoy-live'
  | 'envoy-not-live'
  | 'envoy-crashed'
  | 'envoy-crash-loop'
  | 'envoy-exited'
  | 'envoy-stopped'
  | 'envoy-killed'
  | 'crash-count-reset'
  | 'start-failed'
  | 'stop-begun'
  | 'stop-repeated'
  | 'drain-skipped'
  | 'drain-not-started'
  | 'stop-forced'
  | 'signal-ignored'
  | 'app-started'
  | 'app-exited'
  | 'app-stopped'
  | 'app-failed'
  | 'app-killed';

export type Effect =
  | { readonly type: 'spawn'; readonly restart: number }
  | { readonly type: 'abort-spawn' }
  | { readonly type: 'set-timer'; readonly name: TimerName; readonly ms: number }
  | { readonly type: 'clear-timer'; readonly name: TimerName }
  | { readonly type: 'drain'; readonly inboundOnly: boolean }
  | { readonly type: 'signal-envoy'; readonly pid: number; readonly signal: NodeJS.Signals }
  | { readonly type: 'start-app' }
  | { readonly type: 'signal-app'; readonly pid: number; readonly signal: NodeJS.Signals }
  | { readonly type: 'log'; readonly level: Level; readonly event: LogEvent; readonly msg: string; readonly fields?: Readonly<Record<string, unknown>> }
  | { readonly type: 'exit'; readonly code: number };

export interface Step {
  readonly state: State;
  readonly effects: readonly Effect[];
}

export const initialState: State = { phase: 'starting', restarts: 0, consecutiveCrashes: 0, stopping: false, stopSignals: 0, exitCode: 0 };

/** The dataplane can take traffic: Envoy runs, is LIVE and has config, and no stop has begun. */
export function isReady(state: State): boolean {
  return state.phase === 'running' && state.envoy?.live === true;
}

export function restartDelay(policy: Policy, consecutiveCrashes: number): number {
  const doubled = policy.backoffMs * 2 ** Math.max(0, consecutiveCrashes - 1);
  return Math.min(doubled, policy.maxBackoffMs);
}

const STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT']);

export function step(state: State, event: Event, policy: Policy): Step {
  switch (event.type) {
    case 'start':
      return { state, effects: [{ type: 'spawn', restart: 0 }] };
    case 'spawned':
      return onSpawned(state, event);
    case 'spawn-failed':
      return onSpawnFailed(state, event, policy);
    case 'exited':
      return onExited(state, event, policy);
    case 'live':
      return onLive(state, event, policy);
    case 'drain-failed':
      // As Go kuma-dp: a drain that never began has nothing to wait for.
      if (state.phase !== 'draining' || state.envoy?.pid !== event.pid) return { state, effects: [] };
      return shutdown(state, policy, [
        { type: 'log', level: 'warn', event: 'drain-not-started', msg: "Envoy's admin did not take /healthcheck/fail: stopping without waiting the drain time", fields: { envoyPid: event.pid } },
      ]);
    case 'timer':
      return onTimer(state, event.name, policy);
    case 'signal':
      return STOP_SIGNALS.has(event.signal) ? onStopSignal(state, event.signal, policy) : onOtherSignal(state, event.signal);
    case 'app-started': {
      const log: Effect = { type: 'log', level: 'info', event: 'app-started', msg: 'application started', fields: { appPid: event.pid } };
      const late = state.phase === 'stopping' || state.phase === 'stopped';
      // A stop overtook the start: the app gets its SIGTERM right away.
      const stop: Effect[] = late ? [{ type: 'signal-app', pid: event.pid, signal: 'SIGTERM' }] : [];
      return { state: { ...state, app: { phase: 'running', pid: event.pid } }, effects: [log, ...stop] };
    }
    case 'app-exited':
      return onAppExited(state, event, policy);
    case 'app-failed':
      return shutdown({ ...state, app: { phase: 'gone' }, exitCode: 1 }, policy, [
        { type: 'log', level: 'error', event: 'app-failed', msg: event.reason },
      ]);
  }
}

function appPid(state: State): number | undefined {
  return state.app?.phase === 'running' ? state.app.pid : undefined;
}

function onAppExited(state: State, event: { pid: number; exit: ProcessExit }, policy: Policy): Step {
  if (appPid(state) !== event.pid) return { state, effects: [] };
  const gone: State = { ...state, app: { phase: 'gone' } };
  const code = exitStatus(event.exit);
  const fields = { appPid: event.pid, exitCode: code, signal: event.exit.signal };
  if (state.phase === 'stopping-app') {
    return shutdown(gone, policy, [{ type: 'clear-timer', name: 'kill-app' }, { type: 'log', level: 'info', event: 'app-stopped', msg: 'application stopped', fields }]);
  }
  if (state.phase === 'stopped' || state.phase === 'stopping') return { state: gone, effects: [] };
  // The app is what the dataplane is for: when it ends, the dataplane ends with its code.
  const stopping: State = { ...gone, exitCode: code };
  const log: Effect = { type: 'log', level: 'info', event: 'app-exited', msg: `application exited with code ${code}; stopping the dataplane`, fields };
  if (state.phase === 'starting') return stopped(stopping, code, [log, { type: 'abort-spawn' }]);
  return shutdown(stopping, policy, [log]);
}

function onSpawned(state: State, event: { pid: number; at: number }): Step {
  const envoy = { pid: event.pid, startedAt: event.at, live: false };
  if (state.phase !== 'starting') {
    // A stop raced the spawn: this Envoy has no traffic yet, so it needs no drain.
    return { state: { ...state, envoy }, effects: [{ type: 'signal-envoy', pid: event.pid, signal: 'SIGTERM' }] };
  }
  return {
    state: { ...state, phase: 'running', envoy },
    effects: [{ type: 'log', level: 'info', event: 'envoy-started', msg: 'Envoy started', fields: { envoyPid: event.pid, restarts: state.restarts } }],
  };
}

function onSpawnFailed(state: State, { reason, retryable }: { reason: string; retryable?: boolean }, policy: Policy): Step {
  if (state.phase !== 'starting') return { state, effects: [] };
  if (state.restarts === 0 && !retryable) {
    return shutdown({ ...state, exitCode: 1 }, policy, [{ type: 'log', level: 'fatal', event: 'start-failed', msg: reason }]);
  }
  return crashed(state, policy, `failing to start: ${reason}`, { stderrTail: [] });
}

function onExited(
  state: State,
  event: { pid: number; exit: ProcessExit; at: number },
  policy: Policy,
): Step {
  if (state.envoy?.pid !== event.pid) return { state, effects: [] };
  const fields = { envoyPid: event.pid, exitCode: event.exit.code, signal: event.exit.signal };
  const gone: State = { ...state, envoy: undefined, lastExit: event.exit };
  const log = (event: LogEvent, msg: string): Effect => ({ type: 'log', level: 'info', event, msg, fields });
  switch (state.phase) {
    case 'stopping':
      return stopped(gone, state.exitCode, [log('envoy-stopped', 'Envoy stopped')]);
    case 'stopping-app':
      return { state: gone, effects: [log('envoy-stopped', 'Envoy stopped')] };
    case 'draining':
      return shutdown(gone, policy, [log('envoy-stopped', 'Envoy stopped')]);
    default:
      break;
  }
  if (event.exit.code === 0 && !event.exit.signal) {
    return shutdown(gone, policy, [log('envoy-exited', 'Envoy exited on its own with code 0; stopping')]);
  }
  return crashed(gone, policy, describeExit(event.exit), {
    ...fields,
    uptimeMs: event.at - state.envoy.startedAt,
    stderrTail: event.exit.stderrTail,
  });
}

function crashed(
  state: State,
  policy: Policy,
  cause: string,
  fields: Readonly<Record<string, unknown>> & { stderrTail: readonly string[] },
): Step {
  const consecutiveCrashes = state.consecutiveCrashes + 1;
  if (policy.limit > 0 && consecutiveCrashes >= policy.limit) {
    return shutdown({ ...state, consecutiveCrashes, exitCode: 1 }, policy, [
      {
        type: 'log',
        level: 'fatal',
        event: 'envoy-crash-loop',
        msg: `Envoy is crash-looping: ${consecutiveCrashes} consecutive crashes, the last by ${cause}; giving up`,
        fields: { ...fields, consecutiveCrashes, restarts: state.restarts },
      },
    ]);
  }
  const delay = restartDelay(policy, consecutiveCrashes);
  const { stderrTail, ...rest } = fields;
  return {
    state: { ...state, phase: 'backing-off', consecutiveCrashes },
    effects: [
      { type: 'clear-timer', name: 'stable' },
      {
        type: 'log',
        level: 'error',
        event: 'envoy-crashed',
        msg: `Envoy crashed (${cause}); restarting in ${delay}ms`,
        fields: { ...rest, consecutiveCrashes, restarts: state.restarts, restartInMs: delay, ...(stderrTail.length && { stderrTail }) },
      },
      { type: 'set-timer', name: 'restart', ms: delay },
    ],
  };
}

function onLive(state: State, event: { pid: number; live: boolean }, policy: Policy): Step {
  const envoy = state.envoy;
  if (!envoy || envoy.pid !== event.pid || envoy.live === event.live || state.phase !== 'running') {
    return { state, effects: [] };
  }
  const appStarting = event.live && policy.app && state.app === undefined;
  return {
    state: { ...state, envoy: { ...envoy, live: event.live }, ...(appStarting && { app: { phase: 'starting' } as const }) },
    effects: event.live
      ? [
          { type: 'log', level: 'info', event: 'envoy-live', msg: 'Envoy is live and has its configuration', fields: { envoyPid: envoy.pid } },
          { type: 'set-timer', name: 'stable', ms: policy.stableAfterMs },
          ...(appStarting ? [{ type: 'start-app' } as const] : []),
        ]
      : [
          { type: 'log', level: 'warn', event: 'envoy-not-live', msg: 'Envoy is no longer live', fields: { envoyPid: envoy.pid } },
          { type: 'clear-timer', name: 'stable' },
        ],
  };
}

function onTimer(state: State, name: TimerName, policy: Policy): Step {
  switch (name) {
    case 'restart':
      if (state.phase !== 'backing-off') return { state, effects: [] };
      return {
        state: { ...state, phase: 'starting', restarts: state.restarts + 1 },
        effects: [{ type: 'spawn', restart: state.restarts + 1 }],
      };
    case 'stable':
      if (state.consecutiveCrashes === 0) return { state, effects: [] };
      return {
        state: { ...state, consecutiveCrashes: 0 },
        effects: [{ type: 'log', level: 'info', event: 'crash-count-reset', msg: `Envoy stayed live for ${policy.stableAfterMs}ms; crash count reset` }],
      };
    case 'drain':
      return state.phase === 'draining' ? shutdown(state, policy, []) : { state, effects: [] };
    case 'kill':
      if (state.phase !== 'stopping' || !state.envoy) return { state, effects: [] };
      return {
        state,
        effects: [
          { type: 'log', level: 'warn', event: 'envoy-killed', msg: `Envoy did not exit within ${policy.stopTimeoutMs}ms of SIGTERM; killing it`, fields: { envoyPid: state.envoy.pid } },
          { type: 'signal-envoy', pid: state.envoy.pid, signal: 'SIGKILL' },
        ],
      };
    case 'kill-app': {
      const pid = appPid(state);
      if (state.phase !== 'stopping-app' || pid === undefined) return { state, effects: [] };
      return {
        state,
        effects: [
          { type: 'log', level: 'warn', event: 'app-killed', msg: `the application did not exit within ${policy.stopTimeoutMs}ms of SIGTERM; killing it`, fields: { appPid: pid } },
          { type: 'signal-app', pid, signal: 'SIGKILL' },
        ],
      };
    }
  }
}

function onStopSignal(state: State, signal: NodeJS.Signals, policy: Policy): Step {
  // A stop the supervisor began itself (the app ended, Envoy exited cleanly) counts as the first signal.
  const count = Math.max(state.stopSignals, state.stopping ? 1 : 0) + 1;
  const counted = { ...state, stopSignals: count, stopping: true };
  if (count >= 3) {
    const app = appPid(state);
    const kill: Effect[] = [
      ...(state.envoy ? [{ type: 'signal-envoy', pid: state.envoy.pid, signal: 'SIGKILL' } as const] : []),
      ...(app !== undefined ? [{ type: 'signal-app', pid: app, signal: 'SIGKILL' } as const] : []),
    ];
    return stopped(counted, 1, [{ type: 'log', level: 'warn', event: 'stop-forced', msg: `${signal} received a third time: killing Envoy and exiting` }, ...kill]);
  }
  if (count === 2) {
    if (state.phase !== 'draining') return { state: counted, effects: [{ type: 'log', level: 'info', event: 'stop-repeated', msg: `${signal} received again: already stopping` }] };
    return shutdown(counted, policy, [{ type: 'log', level: 'info', event: 'drain-skipped', msg: `${signal} received again: skipping the rest of the drain` }]);
  }
  const log: Effect = { type: 'log', level: 'info', event: 'stop-begun', msg: `${signal} received: stopping`, fields: { phase: state.phase } };
  switch (state.phase) {
    case 'running':
      if (policy.drainTimeMs === 0) return shutdown({ ...counted, phase: 'draining' }, policy, [log]);
      return {
        state: { ...counted, phase: 'draining' },
        effects: [
          log,
          { type: 'clear-timer', name: 'stable' },
          // With an app, only inbound: the app keeps its outbound path while it shuts down.
          { type: 'drain', inboundOnly: policy.app },
          { type: 'set-timer', name: 'drain', ms: policy.drainTimeMs },
        ],
      };
    case 'starting':
      return shutdown(counted, policy, [log, { type: 'abort-spawn' }]);
    case 'backing-off':
      return shutdown(counted, policy, [log]);
    default:
      return { state: counted, effects: [] };
  }
}

function onOtherSignal(state: State, signal: NodeJS.Signals): Step {
  const app = appPid(state);
  const toApp: Effect[] = app !== undefined ? [{ type: 'signal-app', pid: app, signal }] : [];
  if (signal === 'SIGUSR1' && state.envoy) {
    // Envoy reopens its access logs on SIGUSR1 (logrotate's postrotate sends it).
    return { state, effects: [{ type: 'signal-envoy', pid: state.envoy.pid, signal }, ...toApp] };
  }
  if (toApp.length) return { state, effects: toApp };
  return { state, effects: [{ type: 'log', level: 'info', event: 'signal-ignored', msg: `${signal} received; nothing to pass it to (hot restart is not enabled)` }] };
}

/**
 * The end of a stop, after any drain: the app first (so it keeps Envoy for its outbound calls
 * while it shuts down), then Envoy (SIGTERM, SIGKILL if it lingers), then exit.
 */
function shutdown(stopping: State, policy: Policy, effects: readonly Effect[]): Step {
  const state: State = { ...stopping, stopping: true };
  const cleared: Effect[] = [...effects, { type: 'clear-timer', name: 'drain' }, { type: 'clear-timer', name: 'restart' }];
  const app = appPid(state);
  if (app !== undefined) {
    return {
      state: { ...state, phase: 'stopping-app' },
      effects: [...cleared, { type: 'signal-app', pid: app, signal: 'SIGTERM' }, { type: 'set-timer', name: 'kill-app', ms: policy.stopTimeoutMs }],
    };
  }
  if (!state.envoy) return stopped(state, state.exitCode, cleared);
  return {
    state: { ...state, phase: 'stopping' },
    effects: [...cleared, { type: 'signal-envoy', pid: state.envoy.pid, signal: 'SIGTERM' }, { type: 'set-timer', name: 'kill', ms: policy.stopTimeoutMs }],
  };
}

function stopped(state: State, code: number, effects: readonly Effect[]): Step {
  const timers: TimerName[] = ['restart', 'stable', 'drain', 'kill', 'kill-app'];
  return {
    state: { ...state, phase: 'stopped', stopping: true, exitCode: code },
    effects: [...effects, ...timers.map((name): Effect => ({ type: 'clear-timer', name })), { type: 'exit', code }],
  };
}

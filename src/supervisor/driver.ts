import type { Logger } from '../logging/logger.js';
import { SpawnError, type ChildProcess } from '../process/child.js';
import type { ProcessExit } from '../process/exit.js';
import type { Clock } from '../runtime/clock.js';
import {
  initialState,
  step,
  type Effect,
  type Event,
  type Policy,
  type State,
  type TimerName,
} from './machine.js';

/** Envoy could not be told to fail its health checks: the drain never began, and there is nothing to wait for. */
export class DrainNotStarted extends Error {}

/** One running Envoy, as the driver needs it. */
export interface LaunchedEnvoy {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  kill(signal: NodeJS.Signals): void;
  /** Starts draining connections (POST /healthcheck/fail, /drain_listeners); DrainNotStarted when Envoy did not take the first. */
  drain(inboundOnly: boolean): Promise<void>;
  /** Reports live-with-config changes until the returned function is called. */
  watch(onChange: (live: boolean) => void): () => void;
  /** Releases what the agent holds for this Envoy (admin connections). */
  release(): Promise<void>;
}

export interface DriverOptions {
  readonly policy: Policy;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Fetches a bootstrap and starts Envoy; restart is 0 for the first start. */
  launch(restart: number, signal: AbortSignal): Promise<LaunchedEnvoy>;
  /** App mode: starts the application. */
  startApp?(): Promise<ChildProcess>;
  /** Called with the final exit code once the supervisor stopped; Envoy is gone or killed. */
  exit(code: number): void;
  onChange?(state: State, previous: State): void;
}

/** Performs the state machine's effects with a real clock and real processes. */
export class Supervisor {
  private current: State = initialState;
  private readonly timers = new Map<TimerName, unknown>();
  private readonly envoys = new Map<number, { envoy: LaunchedEnvoy; unwatch: () => void }>();
  private launching?: AbortController;
  private app?: ChildProcess;

  constructor(private readonly options: DriverOptions) {}

  get state(): State {
    return this.current;
  }

  start(): void {
    this.dispatch({ type: 'start' });
  }

  signal(signal: NodeJS.Signals): void {
    this.dispatch({ type: 'signal', signal });
  }

  private dispatch(event: Event): void {
    const previous = this.current;
    const next = step(previous, event, this.options.policy);
    this.current = next.state;
    if (next.state !== previous) this.options.onChange?.(next.state, previous);
    for (const effect of next.effects) this.perform(effect);
  }

  private perform(effect: Effect): void {
    const { logger, clock } = this.options;
    switch (effect.type) {
      case 'spawn':
        this.launch(effect.restart);
        return;
      case 'abort-spawn':
        this.launching?.abort();
        return;
      case 'set-timer':
        this.clearTimer(effect.name);
        this.timers.set(
          effect.name,
          clock.setTimeout(() => {
            this.timers.delete(effect.name);
            this.dispatch({ type: 'timer', name: effect.name });
          }, effect.ms),
        );
        return;
      case 'clear-timer':
        this.clearTimer(effect.name);
        return;
      case 'drain':
        for (const { envoy } of this.envoys.values()) {
          envoy.drain(effect.inboundOnly).catch((error: Error) => {
            logger.warn({ envoyPid: envoy.pid, err: error.message }, 'could not start draining Envoy');
            if (error instanceof DrainNotStarted) this.dispatch({ type: 'drain-failed', pid: envoy.pid });
          });
        }
        return;
      case 'signal-envoy':
        this.envoys.get(effect.pid)?.envoy.kill(effect.signal);
        return;
      case 'start-app':
        this.startApp();
        return;
      case 'signal-app':
        if (this.app?.pid === effect.pid) this.app.kill(effect.signal);
        return;
      case 'log':
        logger[effect.level]({ event: effect.event, ...effect.fields }, effect.msg);
        return;
      case 'exit':
        this.finish(effect.code);
        return;
    }
  }

  private launch(restart: number): void {
    const controller = new AbortController();
    this.launching = controller;
    this.options
      .launch(restart, controller.signal)
      .then((envoy) => {
        const unwatch = envoy.watch((live) => this.dispatch({ type: 'live', pid: envoy.pid, live }));
        this.envoys.set(envoy.pid, { envoy, unwatch });
        void envoy.exited.then((exit) => {
          this.forget(envoy.pid);
          this.dispatch({ type: 'exited', pid: envoy.pid, exit, at: this.options.clock.now() });
        });
        this.dispatch({ type: 'spawned', pid: envoy.pid, at: this.options.clock.now() });
      })
      .catch((error: Error) => {
        if (!controller.signal.aborted) this.dispatch({ type: 'spawn-failed', reason: error.message, retryable: error instanceof SpawnError });
      });
  }

  private startApp(): void {
    const start = this.options.startApp;
    if (!start) return;
    start().then(
      (app) => {
        this.app = app;
        void app.exited.then((exit) => {
          if (this.app === app) this.app = undefined;
          this.dispatch({ type: 'app-exited', pid: app.pid, exit });
        });
        this.dispatch({ type: 'app-started', pid: app.pid });
      },
      (error: Error) => this.dispatch({ type: 'app-failed', reason: error.message }),
    );
  }

  private forget(pid: number): void {
    const entry = this.envoys.get(pid);
    if (!entry) return;
    this.envoys.delete(pid);
    entry.unwatch();
    void entry.envoy.release();
  }

  private clearTimer(name: TimerName): void {
    if (!this.timers.has(name)) return;
    this.options.clock.clearTimeout(this.timers.get(name));
    this.timers.delete(name);
  }

  private finish(code: number): void {
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    // In every orderly path they are gone by now; this is the guarantee that nothing outlives us.
    for (const [pid, { envoy }] of this.envoys) {
      envoy.kill('SIGKILL');
      this.forget(pid);
    }
    this.app?.kill('SIGKILL');
    this.options.exit(code);
  }
}

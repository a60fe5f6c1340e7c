import type { Clock } from '../runtime/clock.js';
import type { Component, Running } from '../runtime/component.js';
import { Supervisor, type DriverOptions } from '../supervisor/driver.js';
import { isReady, type Policy, type State } from '../supervisor/machine.js';

export interface EnvoyComponentOptions {
  readonly policy: Policy;
  readonly clock: Clock;
  readonly launch: DriverOptions['launch'];
  readonly startApp?: DriverOptions['startApp'];
  /** Every state of the supervisor, the first included. */
  readonly onState: (state: State) => void;
}

/** Envoy under the supervisor, as the dataplane's main component: when it ends, the dataplane ends. */
export interface EnvoyComponent extends Component {
  /** Hands a signal to the supervisor (queued until it runs): stop, drain skip, log reopening. */
  signal(signal: NodeJS.Signals): void;
  /** The code the supervisor decided to exit with, once it stopped. */
  readonly exitCode: number | undefined;
}

export function envoyComponent(options: EnvoyComponentOptions): EnvoyComponent {
  let supervisor: Supervisor | undefined;
  let exitCode: number | undefined;
  const queued: NodeJS.Signals[] = [];
  return {
    name: 'envoy',
    get exitCode() {
      return exitCode;
    },
    signal(signal) {
      if (supervisor) supervisor.signal(signal);
      else queued.push(signal);
    },
    async start({ logger, readiness }): Promise<Running> {
      const gate = readiness.gate('envoy');
      let ended!: () => void;
      const done = new Promise<void>((resolve) => (ended = resolve));
      const onState = (state: State) => {
        if (isReady(state)) gate.open();
        else gate.close();
        if (state.stopping) readiness.terminate();
        options.onState(state);
      };
      const running = new Supervisor({
        policy: options.policy,
        clock: options.clock,
        logger,
        launch: options.launch,
        ...(options.startApp && { startApp: options.startApp }),
        exit: (code) => {
          exitCode = code;
          ended();
        },
        onChange: onState,
      });
      supervisor = running;
      onState(running.state);
      running.start();
      for (const signal of queued.splice(0)) running.signal(signal);
      const { drainTimeMs, stopTimeoutMs } = options.policy;
      return {
        ended: done,
        stop: async () => {
          running.signal('SIGTERM');
          await done;
        },
        // Its stop is the drain, then SIGTERM, then SIGKILL: each bounded by the supervisor itself.
        stopBoundMs: drainTimeMs + 2 * stopTimeoutMs + 5_000,
      };
    },
  };
}

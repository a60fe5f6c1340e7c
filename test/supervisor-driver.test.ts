import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { DrainNotStarted, Supervisor, type LaunchedEnvoy } from '../src/supervisor/driver.js';
import { flush, ManualClock } from './helpers/clock.js';
import type { Policy } from '../src/supervisor/machine.js';



interface FakeEnvoy extends Omit<LaunchedEnvoy, 'drain'> {
  drain(inboundOnly: boolean): Promise<void>;
  /** What the next drain does: resolve, or reject as an unreachable admin does. */
  drainFails?: Error;
  exit(code: number | null, signal?: string | null): void;
  setLive(live: boolean): void;
  signals: NodeJS.Signals[];
  drained: number;
}

function fakeLauncher() {
  const envoys: FakeEnvoy[] = [];
  let pid = 100;
  const launch = async (): Promise<LaunchedEnvoy> => {
    let resolveExit!: (exit: { code: number | null; signal: string | null; stderrTail: string[] }) => void;
    let onLive: (live: boolean) => void = () => undefined;
    const envoy: FakeEnvoy = {
      pid: ++pid,
      exited: new Promise((resolve) => (resolveExit = resolve)),
      signals: [],
      drained: 0,
      kill(signal) {
        this.signals.push(signal);
      },
      async drain() {
        envoy.drained++;
        if (envoy.drainFails) throw envoy.drainFails;
      },
      watch(callback) {
        onLive = callback;
        return () => (onLive = () => undefined);
      },
      async release() {},
      exit: (code, signal = null) => resolveExit({ code, signal, stderrTail: [] }),
      setLive: (live) => onLive(live),
    };
    envoys.push(envoy);
    return envoy;
  };
  return { envoys, launch };
}

const policy: Policy = { backoffMs: 1000, maxBackoffMs: 4000, limit: 5, stableAfterMs: 60_000, drainTimeMs: 30_000, stopTimeoutMs: 5000, app: false };

function supervisor(overrides: Partial<Policy> = {}) {
  const clock = new ManualClock();
  const { envoys, launch } = fakeLauncher();
  const exits: number[] = [];
  const sup = new Supervisor({ policy: { ...policy, ...overrides }, clock, logger: pino({ level: 'silent' }), launch, exit: (code) => exits.push(code) });
  return { clock, envoys, exits, sup };
}

describe('supervisor driver with an injected clock and spawner', () => {
  it('restarts after the backoff, doubling, and resets after a minute live', async () => {
    const { clock, envoys, sup } = supervisor();
    sup.start();
    await flush();
    assert.equal(envoys.length, 1);
    envoys[0]!.exit(1);
    await flush();
    assert.deepEqual(clock.pending(), [1000]);
    await clock.advance(999);
    assert.equal(envoys.length, 1, 'no restart before the backoff');
    await clock.advance(1);
    assert.equal(envoys.length, 2);
    envoys[1]!.exit(null, 'SIGSEGV');
    await flush();
    assert.deepEqual(clock.pending(), [2000]);
    await clock.advance(2000);
    envoys[2]!.setLive(true);
    assert.equal(sup.state.phase, 'running');
    await clock.advance(60_000);
    assert.equal(sup.state.consecutiveCrashes, 0);
    envoys[2]!.exit(2);
    await flush();
    assert.deepEqual(clock.pending(), [1000], 'the delay starts over after a stable minute');
  });

  it('drains on the first signal, SIGTERMs after the drain time, SIGKILLs after the stop timeout', async () => {
    const { clock, envoys, exits, sup } = supervisor();
    sup.start();
    await flush();
    const envoy = envoys[0]!;
    sup.signal('SIGTERM');
    await flush();
    assert.equal(envoy.drained, 1);
    await clock.advance(29_999);
    assert.deepEqual(envoy.signals, []);
    await clock.advance(1);
    assert.deepEqual(envoy.signals, ['SIGTERM']);
    await clock.advance(5000);
    assert.deepEqual(envoy.signals, ['SIGTERM', 'SIGKILL']);
    envoy.exit(null, 'SIGKILL');
    await flush();
    assert.deepEqual(exits, [0]);
    assert.deepEqual(clock.pending(), [], 'no timer left behind');
  });

  it("stops without the drain wait when Envoy's admin does not take /healthcheck/fail, as Go kuma-dp", async () => {
    const { clock, envoys, exits, sup } = supervisor();
    sup.start();
    await flush();
    const envoy = envoys[0]!;
    envoy.drainFails = new DrainNotStarted('connect ECONNREFUSED 127.0.0.1:9901');
    sup.signal('SIGTERM');
    await flush();
    assert.equal(envoy.drained, 1);
    assert.deepEqual(envoy.signals, ['SIGTERM'], 'SIGTERM at once, not after 30s');
    envoy.exit(0);
    await flush();
    assert.deepEqual(exits, [0]);
    assert.deepEqual(clock.pending(), []);
  });

  it('still waits the drain time when only /drain_listeners failed: load balancers were told', async () => {
    const { clock, envoys, sup } = supervisor();
    sup.start();
    await flush();
    const envoy = envoys[0]!;
    envoy.drainFails = new Error('POST /drain_listeners answered 500');
    sup.signal('SIGTERM');
    await flush();
    assert.deepEqual(envoy.signals, []);
    await clock.advance(30_000);
    assert.deepEqual(envoy.signals, ['SIGTERM']);
  });

  it('gives up after the restart limit', async () => {
    const { clock, envoys, exits, sup } = supervisor({ limit: 3 });
    sup.start();
    await flush();
    for (let i = 0; i < 3; i++) {
      envoys[i]!.exit(1);
      await flush();
      await clock.advance(10_000);
    }
    assert.equal(envoys.length, 3);
    assert.deepEqual(exits, [1]);
  });

  it('a stop during a pending restart exits at once without starting Envoy again', async () => {
    const { clock, envoys, exits, sup } = supervisor();
    sup.start();
    await flush();
    envoys[0]!.exit(1);
    await flush();
    sup.signal('SIGINT');
    await clock.advance(10_000);
    assert.equal(envoys.length, 1);
    assert.deepEqual(exits, [0]);
  });
});

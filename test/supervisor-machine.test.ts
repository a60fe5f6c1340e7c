import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessExit } from '../src/process/exit.js';
import { initialState, isReady, restartDelay, step, type Effect, type Event, type Policy, type State } from '../src/supervisor/machine.js';

const policy: Policy = { backoffMs: 1000, maxBackoffMs: 30_000, limit: 10, stableAfterMs: 60_000, drainTimeMs: 30_000, stopTimeoutMs: 5000, app: false };

/** Feeds events through the machine, keeping every effect, as the driver would. */
function feed(events: readonly Event[], from: State = initialState, with_: Policy = policy): { state: State; effects: Effect[] } {
  let state = from;
  const effects: Effect[] = [];
  for (const event of events) {
    const next = step(state, event, with_);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const crash = (pid: number, at: number, exit: Pick<ProcessExit, 'code' | 'signal'> = { code: 1, signal: null }): Event => ({ type: 'exited', pid, exit: { ...exit, stderrTail: ['boom'] }, at });
const started = (pid: number, at = 0): Event => ({ type: 'spawned', pid, at });
const without = (effects: Effect[], type: Effect['type']) => effects.filter((e) => e.type !== type);
const timersSet = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'set-timer' ? [`${e.name}:${e.ms}`] : []));

describe('supervisor state machine', () => {
  it('spawns on start and is ready only once Envoy is live with config', () => {
    const first = step(initialState, { type: 'start' }, policy);
    assert.deepEqual(first.effects, [{ type: 'spawn', restart: 0 }]);
    const running = feed([started(10)], first.state);
    assert.equal(running.state.phase, 'running');
    assert.equal(isReady(running.state), false);
    const live = feed([{ type: 'live', pid: 10, live: true }], running.state);
    assert.equal(isReady(live.state), true);
    assert.deepEqual(timersSet(live.effects), ['stable:60000']);
  });

  it('treats a non-zero exit and a death by signal as crashes, with doubling backoff up to the maximum', () => {
    let { state } = feed([{ type: 'start' }, started(1)]);
    const delays: number[] = [];
    for (let n = 0; n < 7; n++) {
      const exit = n % 2 ? { code: null, signal: 'SIGSEGV' } : { code: 3, signal: null };
      const crashed = feed([crash(state.envoy!.pid, 100, exit)], state);
      assert.equal(crashed.state.phase, 'backing-off');
      assert.equal(isReady(crashed.state), false);
      const log = crashed.effects.find((e) => e.type === 'log' && e.level === 'error') as Extract<Effect, { type: 'log' }>;
      assert.match(log.msg, n % 2 ? /signal SIGSEGV/ : /exit code 3/);
      assert.equal(log.fields?.consecutiveCrashes, n + 1);
      assert.equal(log.fields?.uptimeMs, 100);
      delays.push(Number(timersSet(crashed.effects)[0]!.split(':')[1]));
      const restarted = feed([{ type: 'timer', name: 'restart' }], crashed.state);
      assert.deepEqual(restarted.effects, [{ type: 'spawn', restart: n + 1 }]);
      state = feed([started(100 + n)], restarted.state).state;
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.equal(state.restarts, 7);
  });

  it('resets the crash count after Envoy stayed live for the stable period', () => {
    const { state } = feed([{ type: 'start' }, started(1), crash(1, 5), { type: 'timer', name: 'restart' }, started(2), crash(2, 5), { type: 'timer', name: 'restart' }, started(3)]);
    assert.equal(state.consecutiveCrashes, 2);
    const live = feed([{ type: 'live', pid: 3, live: true }, { type: 'timer', name: 'stable' }], state);
    assert.equal(live.state.consecutiveCrashes, 0);
    const again = feed([crash(3, 70_000)], live.state);
    assert.deepEqual(timersSet(again.effects), ['restart:1000']);
  });

  it('a stable timer does not reset the count if Envoy stopped being live first', () => {
    const { state } = feed([{ type: 'start' }, started(1), crash(1, 5), { type: 'timer', name: 'restart' }, started(2), { type: 'live', pid: 2, live: true }]);
    const notLive = feed([{ type: 'live', pid: 2, live: false }], state);
    assert.ok(notLive.effects.some((e) => e.type === 'clear-timer' && e.name === 'stable'));
  });

  it('gives up after the restart limit of consecutive crashes, exiting 1 with the last exit and stderr', () => {
    const limited = { ...policy, limit: 3 };
    const { state, effects } = feed(
      [{ type: 'start' }, started(1), crash(1, 1), { type: 'timer', name: 'restart' }, started(2), crash(2, 1), { type: 'timer', name: 'restart' }, started(3), crash(3, 1, { code: null, signal: 'SIGABRT' })],
      initialState,
      limited,
    );
    assert.equal(state.phase, 'stopped');
    assert.deepEqual(effects.at(-1), { type: 'exit', code: 1 });
    const fatal = effects.find((e) => e.type === 'log' && e.level === 'fatal') as Extract<Effect, { type: 'log' }>;
    assert.match(fatal.msg, /crash-looping: 3 consecutive crashes, the last by signal SIGABRT; giving up/);
    assert.deepEqual(fatal.fields?.stderrTail, ['boom']);
  });

  it('never gives up with limit 0', () => {
    const unlimited = { ...policy, limit: 0 };
    let state = feed([{ type: 'start' }, started(0)], initialState, unlimited).state;
    for (let n = 1; n <= 50; n++) state = feed([crash(n - 1, 1), { type: 'timer', name: 'restart' }, started(n)], state, unlimited).state;
    assert.equal(state.phase, 'running');
    assert.equal(state.consecutiveCrashes, 50);
  });

  it('stops with 0 when Envoy exits 0 on its own', () => {
    const { state, effects } = feed([{ type: 'start' }, started(1), { type: 'exited', pid: 1, exit: { code: 0, signal: null, stderrTail: [] }, at: 9 }]);
    assert.equal(state.phase, 'stopped');
    assert.deepEqual(effects.at(-1), { type: 'exit', code: 0 });
    assert.ok(!effects.some((e) => e.type === 'spawn' && e.restart > 0));
  });

  it('ignores the exit of an Envoy it no longer tracks', () => {
    const { state } = feed([{ type: 'start' }, started(1), crash(1, 1), { type: 'timer', name: 'restart' }, started(2)]);
    const stale = feed([crash(1, 2)], state);
    assert.equal(stale.state, state);
    assert.deepEqual(stale.effects, []);
  });

  it('first stop signal drains, waits the drain time, SIGTERMs, then SIGKILLs after the stop timeout', () => {
    const running = feed([{ type: 'start' }, started(7), { type: 'live', pid: 7, live: true }]).state;
    const draining = feed([{ type: 'signal', signal: 'SIGTERM' }], running);
    assert.equal(draining.state.phase, 'draining');
    assert.equal(isReady(draining.state), false);
    assert.ok(draining.effects.some((e) => e.type === 'drain'));
    assert.deepEqual(timersSet(draining.effects), ['drain:30000']);
    const stopping = feed([{ type: 'timer', name: 'drain' }], draining.state);
    assert.deepEqual(without(stopping.effects, 'clear-timer'), [
      { type: 'signal-envoy', pid: 7, signal: 'SIGTERM' },
      { type: 'set-timer', name: 'kill', ms: 5000 },
    ]);
    const killing = feed([{ type: 'timer', name: 'kill' }], stopping.state);
    assert.ok(killing.effects.some((e) => e.type === 'signal-envoy' && e.signal === 'SIGKILL'));
    const done = feed([{ type: 'exited', pid: 7, exit: { code: null, signal: 'SIGKILL', stderrTail: [] }, at: 1 }], killing.state);
    assert.equal(done.state.phase, 'stopped');
    assert.deepEqual(done.effects.at(-1), { type: 'exit', code: 0 });
  });

  it("does not wait the drain time when Envoy's admin did not take /healthcheck/fail", () => {
    const draining = feed([{ type: 'start' }, started(7), { type: 'live', pid: 7, live: true }, { type: 'signal', signal: 'SIGTERM' }]).state;
    const stale = feed([{ type: 'drain-failed', pid: 6 }], draining);
    assert.equal(stale.state, draining, 'another Envoy failing to drain changes nothing');
    const stopping = feed([{ type: 'drain-failed', pid: 7 }], draining);
    assert.equal(stopping.state.phase, 'stopping');
    assert.ok(stopping.effects.some((e) => e.type === 'clear-timer' && e.name === 'drain'));
    assert.ok(stopping.effects.some((e) => e.type === 'signal-envoy' && e.pid === 7 && e.signal === 'SIGTERM'));
    assert.ok(stopping.effects.some((e) => e.type === 'log' && e.level === 'warn' && /without waiting the drain time/.test(e.msg)));
    const running = feed([{ type: 'start' }, started(7)]).state;
    assert.equal(feed([{ type: 'drain-failed', pid: 7 }], running).state, running, 'outside a drain it means nothing');
  });

  it('a crash while draining is the end of the stop, not a restart', () => {
    const draining = feed([{ type: 'start' }, started(7), { type: 'signal', signal: 'SIGINT' }]).state;
    const done = feed([crash(7, 1)], draining);
    assert.deepEqual(done.effects.at(-1), { type: 'exit', code: 0 });
    assert.ok(!done.effects.some((e) => e.type === 'set-timer'));
  });

  it('a second signal skips the rest of the drain; a third kills Envoy and exits 1', () => {
    const draining = feed([{ type: 'start' }, started(7), { type: 'signal', signal: 'SIGTERM' }]).state;
    const second = feed([{ type: 'signal', signal: 'SIGTERM' }], draining);
    assert.equal(second.state.phase, 'stopping');
    assert.ok(second.effects.some((e) => e.type === 'clear-timer' && e.name === 'drain'));
    assert.ok(second.effects.some((e) => e.type === 'signal-envoy' && e.signal === 'SIGTERM'));
    const third = feed([{ type: 'signal', signal: 'SIGINT' }], second.state);
    const kill = third.effects.findIndex((e) => e.type === 'signal-envoy' && e.signal === 'SIGKILL');
    assert.ok(kill >= 0);
    assert.deepEqual(third.effects.at(-1), { type: 'exit', code: 1 });
  });

  it('a stop while backing off or starting ends at once with 0', () => {
    const backingOff = feed([{ type: 'start' }, started(1), crash(1, 1)]).state;
    const fromBackoff = feed([{ type: 'signal', signal: 'SIGTERM' }], backingOff);
    assert.ok(fromBackoff.effects.some((e) => e.type === 'clear-timer' && e.name === 'restart'));
    assert.deepEqual(fromBackoff.effects.at(-1), { type: 'exit', code: 0 });
    const fromStart = feed([{ type: 'start' }, { type: 'signal', signal: 'SIGINT' }]);
    assert.ok(fromStart.effects.some((e) => e.type === 'abort-spawn'));
    assert.deepEqual(fromStart.effects.at(-1), { type: 'exit', code: 0 });
  });

  it('with no drain time, the first signal goes straight to SIGTERM', () => {
    const running = feed([{ type: 'start' }, started(7)], initialState, { ...policy, drainTimeMs: 0 }).state;
    const { state, effects } = feed([{ type: 'signal', signal: 'SIGTERM' }], running, { ...policy, drainTimeMs: 0 });
    assert.equal(state.phase, 'stopping');
    assert.ok(!effects.some((e) => e.type === 'drain'));
    assert.ok(effects.some((e) => e.type === 'signal-envoy' && e.signal === 'SIGTERM'));
  });

  it('passes SIGUSR1 on to Envoy and only logs SIGHUP', () => {
    const running = feed([{ type: 'start' }, started(7)]).state;
    assert.deepEqual(feed([{ type: 'signal', signal: 'SIGUSR1' }], running).effects, [{ type: 'signal-envoy', pid: 7, signal: 'SIGUSR1' }]);
    const hup = feed([{ type: 'signal', signal: 'SIGHUP' }], running);
    assert.equal(hup.state, running);
    assert.deepEqual(hup.effects.map((e) => e.type), ['log']);
  });

  it('a failed first start exits 1 with the reason; a failed restart counts as a crash', () => {
    const first = feed([{ type: 'start' }, { type: 'spawn-failed', reason: 'Invalid request: nope' }]);
    assert.deepEqual(first.effects.at(-1), { type: 'exit', code: 1 });
    assert.ok(first.effects.some((e) => e.type === 'log' && e.level === 'fatal' && e.msg === 'Invalid request: nope'));
    const restart = feed([{ type: 'start' }, started(1), crash(1, 1), { type: 'timer', name: 'restart' }, { type: 'spawn-failed', reason: 'exec failed' }]);
    assert.equal(restart.state.phase, 'backing-off');
    assert.equal(restart.state.consecutiveCrashes, 2);
  });

  it('a process that cannot be started, even the first time, is a crash to retry with backoff', () => {
    const first = feed([{ type: 'start' }, { type: 'spawn-failed', reason: 'could not start envoy: EMFILE', retryable: true }]);
    assert.equal(first.state.phase, 'backing-off');
    assert.equal(first.state.consecutiveCrashes, 1);
    assert.ok(first.effects.some((e) => e.type === 'set-timer' && e.name === 'restart' && e.ms === policy.backoffMs));
    assert.ok(!first.effects.some((e) => e.type === 'exit'));
  });

  it('computes restart delays', () => {
    assert.equal(restartDelay(policy, 1), 1000);
    assert.equal(restartDelay(policy, 5), 16_000);
    assert.equal(restartDelay(policy, 40), 30_000);
  });
});

describe('supervisor state machine in app mode', () => {
  const appPolicy: Policy = { ...policy, app: true };
  const live = (pid: number): Event => ({ type: 'live', pid, live: true });

  it('starts the app once, the first time the dataplane is ready', () => {
    const { state, effects } = feed([{ type: 'start' }, started(1), live(1)], initialState, appPolicy);
    assert.equal(effects.filter((e) => e.type === 'start-app').length, 1);
    const again = feed([{ type: 'app-started', pid: 50 }, crash(1, 5), { type: 'timer', name: 'restart' }, started(2), live(2)], state, appPolicy);
    assert.equal(again.effects.filter((e) => e.type === 'start-app').length, 0, 'an Envoy restart does not restart the app');
  });

  it('on stop: inbound drain, then SIGTERM to the app, then Envoy once the app is gone', () => {
    const running = feed([{ type: 'start' }, started(1), live(1), { type: 'app-started', pid: 50 }], initialState, appPolicy).state;
    const draining = feed([{ type: 'signal', signal: 'SIGTERM' }], running, appPolicy);
    assert.ok(draining.effects.some((e) => e.type === 'drain' && e.inboundOnly));
    const stoppingApp = feed([{ type: 'timer', name: 'drain' }], draining.state, appPolicy);
    assert.equal(stoppingApp.state.phase, 'stopping-app');
    assert.deepEqual(without(stoppingApp.effects, 'clear-timer'), [
      { type: 'signal-app', pid: 50, signal: 'SIGTERM' },
      { type: 'set-timer', name: 'kill-app', ms: 5000 },
    ]);
    assert.ok(!stoppingApp.effects.some((e) => e.type === 'signal-envoy'), 'Envoy keeps running for the app');
    const killApp = feed([{ type: 'timer', name: 'kill-app' }], stoppingApp.state, appPolicy);
    assert.ok(killApp.effects.some((e) => e.type === 'signal-app' && e.signal === 'SIGKILL'));
    const appGone = feed([{ type: 'app-exited', pid: 50, exit: { code: null, signal: 'SIGTERM', stderrTail: [] } }], stoppingApp.state, appPolicy);
    assert.equal(appGone.state.phase, 'stopping');
    assert.ok(appGone.effects.some((e) => e.type === 'signal-envoy' && e.signal === 'SIGTERM'));
    const done = feed([{ type: 'exited', pid: 1, exit: { code: 0, signal: null, stderrTail: [] }, at: 1 }], appGone.state, appPolicy);
    assert.deepEqual(done.effects.at(-1), { type: 'exit', code: 0 });
  });

  it("an app that exits on its own stops the dataplane with the app's code", () => {
    const running = feed([{ type: 'start' }, started(1), live(1), { type: 'app-started', pid: 50 }], initialState, appPolicy).state;
    const exited = feed([{ type: 'app-exited', pid: 50, exit: { code: 4, signal: null, stderrTail: [] } }], running, appPolicy);
    assert.equal(exited.state.phase, 'stopping');
    const done = feed([{ type: 'exited', pid: 1, exit: { code: 0, signal: null, stderrTail: [] }, at: 1 }], exited.state, appPolicy);
    assert.deepEqual(done.effects.at(-1), { type: 'exit', code: 4 });
  });

  it('giving up on a crash-looping Envoy stops the app before exiting 1', () => {
    const limited = { ...appPolicy, limit: 1 };
    const running = feed([{ type: 'start' }, started(1), live(1), { type: 'app-started', pid: 50 }], initialState, limited).state;
    const gaveUp = feed([crash(1, 5)], running, limited);
    assert.equal(gaveUp.state.phase, 'stopping-app');
    const done = feed([{ type: 'app-exited', pid: 50, exit: { code: 0, signal: null, stderrTail: [] } }], gaveUp.state, limited);
    assert.deepEqual(done.effects.at(-1), { type: 'exit', code: 1 });
  });
});

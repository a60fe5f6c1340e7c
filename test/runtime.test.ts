import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { socketPath } from '../src/dataplane/sockets.js';
import { featuresOf, type Component, type Running } from '../src/runtime/component.js';
import { Feed } from '../src/runtime/feed.js';
import { ComponentManager, RESILIENT_BACKOFF } from '../src/runtime/manager.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { repeat } from '../src/runtime/repeat.js';
import { flush, ManualClock } from './helpers/clock.js';

const logger = pino({ level: 'silent' });

/** A component that records its life cycle in `events`, and can be made to fail or end by the test. */
function probe(name: string, events: string[], options: { resilient?: boolean; failStarts?: number; features?: string[] } = {}) {
  let failStarts = options.failStarts ?? 0;
  let end: ((error?: Error) => void) | undefined;
  const component: Component = {
    name,
    ...(options.features && { features: options.features }),
    ...(options.resilient && { resilient: true }),
    async start(): Promise<Running> {
      if (failStarts-- > 0) {
        events.push(`${name}:start-failed`);
        throw new Error(`${name} cannot start`);
      }
      events.push(`${name}:start`);
      const ended = new Promise<void>((resolve, reject) => (end = (error) => (error ? reject(error) : resolve())));
      return { ended, stop: async () => void events.push(`${name}:stop`) };
    },
  };
  return { component, fail: (error = new Error(`${name} broke`)) => end?.(error), finish: () => end?.() };
}

describe('component manager', () => {
  it('starts components in order and stops them in reverse when a main component ends', async () => {
    const events: string[] = [];
    const a = probe('a', events);
    const b = probe('b', events);
    const main = probe('main', events);
    const manager = new ComponentManager({ components: [a.component, b.component, main.component], logger, clock: new ManualClock(), readiness: new ReadinessGates() });
    await manager.start();
    assert.deepEqual(events, ['a:start', 'b:start', 'main:start']);
    main.finish();
    assert.deepEqual(await manager.done, { component: 'main' });
    assert.deepEqual(events.slice(3), ['b:stop', 'a:stop']);
  });

  it('stops everything when a component that is not resilient fails, and says which and why', async () => {
    const events: string[] = [];
    const a = probe('a', events);
    const b = probe('b', events);
    const manager = new ComponentManager({ components: [a.component, b.component], logger, clock: new ManualClock(), readiness: new ReadinessGates() });
    await manager.start();
    a.fail(new Error('socket gone'));
    const outcome = await manager.done;
    assert.equal(outcome.component, 'a');
    assert.equal(outcome.error?.message, 'socket gone');
    assert.deepEqual(events.slice(2), ['b:stop']);
  });

  it('restarts a resilient component with backoff (5s, 10s, ... up to 1m) and keeps the others running', async () => {
    const events: string[] = [];
    const clock = new ManualClock();
    const side = probe('side', events, { resilient: true, failStarts: 0 });
    const main = probe('main', events);
    const manager = new ComponentManager({ components: [side.component, main.component], logger, clock, readiness: new ReadinessGates() });
    await manager.start();
    side.fail();
    await flush();
    assert.deepEqual(clock.pending(), [RESILIENT_BACKOFF.baseMs]);
    await clock.advance(RESILIENT_BACKOFF.baseMs - 1);
    assert.deepEqual(events, ['side:start', 'main:start']);
    await clock.advance(1);
    assert.deepEqual(events, ['side:start', 'main:start', 'side:start']);
    side.fail();
    await flush();
    assert.deepEqual(clock.pending(), [2 * RESILIENT_BACKOFF.baseMs]);
    for (let i = 0; i < 6; i++) {
      await clock.advance(clock.pending()[0]!);
      side.fail();
      await flush();
    }
    assert.deepEqual(clock.pending(), [RESILIENT_BACKOFF.maxMs]);
    main.finish();
    assert.deepEqual(await manager.done, { component: 'main' });
    assert.deepEqual(clock.pending(), [], 'a stop cancels the pending restart');
  });

  it('retries a resilient component that cannot start, and gives up the start of a main one', async () => {
    const events: string[] = [];
    const clock = new ManualClock();
    const side = probe('side', events, { resilient: true, failStarts: 1 });
    const first = probe('first', events);
    const main = probe('main', events, { failStarts: 1 });
    const manager = new ComponentManager({ components: [first.component, side.component, main.component], logger, clock, readiness: new ReadinessGates() });
    await assert.rejects(manager.start(), /main cannot start/);
    assert.deepEqual(events, ['first:start', 'side:start-failed', 'main:start-failed', 'first:stop']);
    await clock.advance(RESILIENT_BACKOFF.maxMs);
    assert.equal(events.length, 4, 'no retry after the stop');
  });

  it('collects each feature once, in order', () => {
    const events: string[] = [];
    const components = [probe('a', events, { features: ['x', 'y'] }).component, probe('b', events).component, probe('c', events, { features: ['y', 'z'] }).component];
    assert.deepEqual(featuresOf(components), ['x', 'y', 'z']);
  });
});

describe('readiness gates', () => {
  it('is READY only when every gate is open, and TERMINATING for good once a stop began', () => {
    const gates = new ReadinessGates();
    const seen: string[] = [];
    gates.onChange((state) => seen.push(state));
    assert.equal(gates.state, 'NOT_READY', 'no gate yet is not ready');
    const envoy = gates.gate('envoy');
    const dns = gates.gate('dns');
    envoy.open();
    assert.equal(gates.state, 'NOT_READY');
    assert.deepEqual(gates.waitingFor, ['dns']);
    dns.open();
    assert.equal(gates.state, 'READY');
    envoy.close();
    assert.equal(gates.state, 'NOT_READY');
    envoy.open();
    gates.terminate();
    envoy.open();
    assert.equal(gates.state, 'TERMINATING');
    assert.deepEqual(seen, ['READY', 'NOT_READY', 'READY', 'TERMINATING']);
    assert.throws(() => gates.gate('dns'), /exists already/);
  });
});

describe('feed', () => {
  it('keeps the latest value and tells listeners until they unsubscribe', () => {
    const feed = new Feed<number>();
    const seen: number[] = [];
    const stop = feed.subscribe((value) => seen.push(value));
    feed.publish(1);
    stop();
    feed.publish(2);
    assert.deepEqual(seen, [1]);
    assert.equal(feed.value, 2);
  });
});

describe('socket names', () => {
  it('cuts the path to 98 bytes before .sock, as kuma-cp does', () => {
    assert.equal(socketPath('/tmp/kuma-dp-1', 'kuma-mh-web-default'), '/tmp/kuma-dp-1/kuma-mh-web-default.sock');
    const long = socketPath('/tmp/' + 'd'.repeat(60), 'kuma-mh-' + 'n'.repeat(60) + '-default');
    assert.equal(long.length, 98 + '.sock'.length);
    assert.ok(long.endsWith('n.sock'));
  });
});

describe('repeat', () => {
  it('runs after each interval from the end of the last run, never overlapping, and stops after the run under way', async () => {
    const clock = new ManualClock();
    const runs: number[] = [];
    let finish: (() => void) | undefined;
    const repeating = repeat(clock, 1000, () => {
      runs.push(clock.now());
      return new Promise<void>((resolve) => (finish = resolve));
    }, { now: true });
    await flush();
    assert.deepEqual(runs, [0], 'the first run at once');
    await clock.advance(5000);
    assert.deepEqual(runs, [0], 'no second run while the first is under way');
    finish!();
    await flush();
    assert.deepEqual(clock.pending(), [1000], 'the next run an interval after the last ended');
    await clock.advance(1000);
    assert.deepEqual(runs, [0, 6000]);
    let stopped = false;
    const stopping = repeating.stop().then(() => (stopped = true));
    await flush();
    assert.equal(stopped, false, 'stop waits for the run under way');
    assert.equal(repeating.stopped, true);
    finish!();
    await stopping;
    assert.deepEqual(clock.pending(), [], 'nothing runs after a stop');
  });
  it('asks a variable interval after each run, so that a run can change the pace', async () => {
    const clock = new ManualClock();
    const runs: number[] = [];
    let fast = true;
    const repeating = repeat(clock, () => (fast ? 100 : 1000), async () => {
      runs.push(clock.now());
      if (runs.length === 3) fast = false;
    }, { now: true });
    await flush();
    assert.deepEqual(clock.pending(), [100]);
    await clock.advance(200);
    assert.deepEqual(runs, [0, 100, 200], 'every 100 ms while fast');
    assert.deepEqual(clock.pending(), [1000], 'the run that slowed it down set the next interval');
    await clock.advance(2000);
    assert.deepEqual(runs, [0, 100, 200, 1200, 2200]);
    await repeating.stop();
    assert.deepEqual(clock.pending(), []);
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Throttle } from '../src/logging/throttle.js';
import { ManualClock } from './helpers/clock.js';

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('Throttle', () => {
  it('lets one event of a key through per interval, each key on its own', async () => {
    const clock = new ManualClock();
    const throttle = new Throttle(1000, clock.now);
    assert.equal(throttle.allow('a'), true, 'the first event of a key');
    assert.equal(throttle.allow('a'), false);
    assert.equal(throttle.allow('b'), true, 'another key is not held back by the first');
    await clock.advance(999);
    assert.equal(throttle.allow('a'), false, 'within the interval');
    await clock.advance(1);
    assert.equal(throttle.allow('a'), true, 'an interval after the last one let through');
    assert.equal(throttle.allow('b'), true);
  });

  it('counts per key what it held back, and starts counting anew after each event let through', async () => {
    const clock = new ManualClock();
    const throttle = new Throttle(1000, clock.now);
    assert.equal(throttle.pass('a'), 0);
    assert.equal(throttle.pass('a'), undefined);
    assert.equal(throttle.pass('a'), undefined);
    assert.equal(throttle.pass('b'), 0);
    assert.equal(throttle.pass('b'), undefined);
    await clock.advance(1000);
    assert.equal(throttle.pass('a'), 2);
    assert.equal(throttle.pass('b'), 1);
    await clock.advance(1000);
    assert.equal(throttle.pass('a'), 0, 'nothing held back since');
  });

  it('forgets a key on reset: its next event goes through, with nothing counted', () => {
    const clock = new ManualClock();
    const throttle = new Throttle(60_000, clock.now);
    assert.equal(throttle.pass('a'), 0);
    assert.equal(throttle.pass('a'), undefined);
    throttle.reset('a');
    assert.equal(throttle.pass('a'), 0);
  });

  it('logs a warning per interval and key, saying how many it stands for', async () => {
    const clock = new ManualClock();
    const throttle = new Throttle(1000, clock.now);
    const { logger, lines } = capturingLogger();
    for (let i = 0; i < 5; i++) throttle.warn(logger, 'down', { event: 'x', n: i }, 'down');
    throttle.warn(logger, 'full', { event: 'y' }, 'full');
    await clock.advance(1000);
    throttle.warn(logger, 'down', { event: 'x', n: 5 }, 'down');
    throttle.warn(logger, 'full', { event: 'y' }, 'full');
    const seen = lines.map(({ msg, n, alsoSince, level }) => ({ msg, n, alsoSince, level }));
    assert.deepEqual(seen, [
      { msg: 'down', n: 0, alsoSince: undefined, level: 40 },
      { msg: 'full', n: undefined, alsoSince: undefined, level: 40 },
      { msg: 'down', n: 5, alsoSince: 4, level: 40 },
      { msg: 'full', n: undefined, alsoSince: undefined, level: 40 },
    ]);
  });
});

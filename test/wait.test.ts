import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startReadinessServer } from '../src/readiness/server.js';
import { waitUntilReady, type ProbeResult } from '../src/readiness/wait.js';
import { runAgent, startAgent, agentEnv, tempDir } from './helpers/agent.js';
import { startDataplane } from './helpers/readiness.js';
import { freePort } from '../stand-ins/control-plane.js';

function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    },
  };
}

describe('waitUntilReady', () => {
  it('probes every check interval until the endpoint says ready', async () => {
    const answers: ProbeResult[] = [
      { ready: false, answer: 'ECONNREFUSED' },
      { ready: false, answer: '503 NOT_READY' },
      { ready: true, answer: '200 READY' },
    ];
    const { clock, sleeps } = fakeClock();
    const outcome = await waitUntilReady({ probe: async () => answers.shift()!, timeoutMs: 10_000, checkFrequencyMs: 1000, clock });
    assert.deepEqual(outcome, { ready: true });
    assert.deepEqual(sleeps, [1000, 1000]);
  });

  it('gives up at the deadline with the last answer, never sleeping past it', async () => {
    const { clock, sleeps } = fakeClock();
    const outcome = await waitUntilReady({ probe: async () => ({ ready: false, answer: '503 NOT_READY' }), timeoutMs: 2500, checkFrequencyMs: 1000, clock });
    assert.deepEqual(outcome, { ready: false, last: '503 NOT_READY' });
    assert.deepEqual(sleeps, [1000, 1000, 500]);
  });
});

describe('kuma-dp wait', () => {
  it('blocks until a starting dataplane is ready, then exits 0', async () => {
    const { agent, readinessPort } = await startDataplane(['--drain-time', '0s'], { FAKE_ENVOY_XDS_DELAY_MS: '700' });
    const waiter = startAgent(['wait', '--url', `http://localhost:${readinessPort}/ready`, '--check-frequency', '100ms', '--timeout', '10s'], { env: agentEnv() });
    const result = await waiter.exited;
    assert.equal(result.code, 0, waiter.stderr());
    assert.ok(agent.lines.some((line) => line.event === 'envoy-live'), 'wait returned only once Envoy was live');
    assert.equal(waiter.stderr(), `kuma-dp: the dataplane is ready (http://localhost:${readinessPort}/ready)\n`);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('exits 1 with one clear line when the dataplane is not ready in time', async (t) => {
    const server = await startReadinessServer({ port: 0, readiness: () => 'NOT_READY' });
    t.after(() => server.close());
    const url = `http://127.0.0.1:${server.port}/ready`;
    const result = await runAgent(['wait', '--url', url, '--timeout', '600ms', '--check-frequency', '100ms'], { env: agentEnv() });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `kuma-dp: the dataplane was not ready within 600ms: ${url} last answered 503 NOT_READY\n`);
    assert.ok(result.ms >= 600, `waited ${result.ms}ms`);
  });

  it('says when nothing listens at all', async () => {
    const port = await freePort();
    const result = await runAgent(['wait', '--url', `http://127.0.0.1:${port}/ready`, '--timeout', '300ms', '--check-frequency', '100ms'], { env: agentEnv() });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^kuma-dp: the dataplane was not ready within 300ms: .* last answered ECONNREFUSED\n$/);
  });

  it('reaches the endpoint through --unix-socket', async (t) => {
    const socket = path.join(tempDir(), 'ready.sock');
    const server = http.createServer((_req, res) => res.end('READY'));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    t.after(() => server.close());
    const result = await runAgent(['wait', '--unix-socket', socket, '--timeout', '2s'], { env: agentEnv() });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, `kuma-dp: the dataplane is ready (http://localhost:9902/ready via ${socket})\n`);
  });

  it('refuses bad flags with one line naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--url', 'http://10.0.0.5:9902/ready'], /^kuma-dp: invalid --url "http:\/\/10\.0\.0\.5:9902\/ready": the host must be loopback/],
      [['--url', 'ftp://localhost/ready'], /^kuma-dp: invalid --url "ftp:\/\/localhost\/ready": scheme must be http or https/],
      [['--timeout', 'soon'], /^kuma-dp: invalid --timeout "soon": expected a duration/],
      [['--check-frequency', '0'], /^kuma-dp: invalid --check-frequency "0": must be longer than 0/],
      [['--request-timeout=-1s'], /^kuma-dp: invalid --request-timeout "-1s"/],
    ];
    for (const [args, expected] of cases) {
      const result = await runAgent(['wait', ...args], { env: agentEnv() });
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });
});

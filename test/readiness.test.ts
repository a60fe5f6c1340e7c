import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { READINESS_IDLE_TIMEOUT_MS, READINESS_MAX_CONNECTIONS, startReadinessServer } from '../src/readiness/server.js';
import type { Readiness } from '../src/runtime/readiness.js';
import { runAgent, agentEnv, waitUntil } from './helpers/agent.js';
import { readinessAnswer, recordReadiness, startDataplane } from './helpers/readiness.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';

describe('readiness server', () => {
  it('answers /ready and /ready/<mesh>/<name> from the state it is given, /status as JSON, and nothing else', async (t) => {
    let current: Readiness = 'NOT_READY';
    const server = await startReadinessServer({
      port: 0,
      readiness: (path) => (path === '' ? current : path === 'demo/web' ? 'READY' : undefined),
      status: () => ({ dataplanes: [] }),
    });
    t.after(() => server.close());
    const url = `http://127.0.0.1:${server.port}`;
    assert.equal(await readinessAnswer(server.port), '503 NOT_READY');
    current = 'READY';
    assert.equal(await readinessAnswer(server.port), '200 READY');
    current = 'TERMINATING';
    assert.equal(await readinessAnswer(server.port), '503 TERMINATING');
    assert.equal((await fetch(`${url}/ready/demo/web`)).status, 200);
    assert.equal((await fetch(`${url}/ready/demo/other`)).status, 404);
    assert.deepEqual(await (await fetch(`${url}/status`)).json(), { dataplanes: [] });
    assert.equal((await fetch(`${url}/other`)).status, 404);
    assert.equal((await fetch(`${url}/ready`, { method: 'POST' })).status, 405);
  });

  it(`holds at most ${READINESS_MAX_CONNECTIONS} connections and closes idle ones, so a flood cannot exhaust descriptors`, async (t) => {
    const server = await startReadinessServer({ port: 0, readiness: () => 'READY' });
    t.after(() => server.close());
    const sockets = Array.from({ length: 200 }, () => {
      const socket = connect(server.port, '127.0.0.1');
      const state = { socket, closed: false };
      socket.on('error', () => {});
      socket.on('close', () => (state.closed = true));
      return state;
    });
    t.after(() => sockets.forEach((s) => s.socket.destroy()));
    // Connections over the cap are closed at once.
    await waitUntil(() => sockets.filter((s) => s.closed).length >= 200 - READINESS_MAX_CONNECTIONS, 5000, 'connections over the cap to be closed');
    // Idle ones (no request, or a request that never ends) are closed after the idle timeout.
    await waitUntil(() => sockets.every((s) => s.closed), 3 * READINESS_IDLE_TIMEOUT_MS + 2000, 'idle connections to be closed');
    assert.equal(await readinessAnswer(server.port), '200 READY');
  });

  it('refuses a taken port with a one-line error naming the flag', async (t) => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    t.after(() => holder.close());
    const port = (holder.address() as { port: number }).port;
    await assert.rejects(startReadinessServer({ port, readiness: () => 'READY' }), (error: Error) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, new RegExp(`^readiness port ${port} is already in use on 127\\.0\\.0\\.1: .*--readiness-port`));
      return true;
    });
  });
});

describe('kuma-dp run readiness endpoint', () => {
  it('goes NOT_READY → READY → NOT_READY while Envoy restarts after a crash → READY → TERMINATING → gone', async () => {
    const { agent, readinessPort } = await startDataplane(['--drain-time', '1s', '--envoy-restart-backoff', '300ms'], {
      FAKE_ENVOY_XDS_DELAY_MS: '400',
    });
    const seen = recordReadiness(readinessPort);
    const started = await agent.waitFor('envoy-started');
    await waitUntil(() => seen.changes.includes('200 READY'), 10_000, 'ready');

    process.kill(started.envoyPid as number, 'SIGSEGV');
    await agent.waitFor((line) => line.event === 'envoy-started' && line.envoyPid !== started.envoyPid);
    await waitUntil(() => seen.changes.filter((c) => c === '200 READY').length === 2, 10_000, 'ready again');

    agent.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null });
    await waitUntil(() => seen.changes.at(-1) === 'down', 2000, 'the endpoint to close');
    seen.stop();
    // The recorder may start before the agent has bound the port: those first samples say nothing.
    const answers = seen.changes.slice(seen.changes.indexOf('503 NOT_READY'));
    assert.deepEqual(answers, ['503 NOT_READY', '200 READY', '503 NOT_READY', '200 READY', '503 TERMINATING', 'down']);
  });

  it("stays NOT_READY when Envoy's /ready is LIVE only because the initial fetch timed out", async () => {
    const { agent, readinessPort, adminPort } = await startDataplane(['--drain-time', '0s'], {
      FAKE_ENVOY_NO_XDS: '1',
      FAKE_ENVOY_INITIAL_FETCH_TIMEOUT_MS: '100',
    });
    await agent.waitFor('envoy-started');
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.text(), () => '')).trim() === 'LIVE', 5000, 'Envoy LIVE');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await readinessAnswer(readinessPort), '503 NOT_READY');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('exits 1 with one line, before contacting the control plane, when the readiness port is taken', async (t) => {
    const cp = await startControlPlane({ generation: 'modern' });
    t.after(() => cp.close());
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    t.after(() => holder.close());
    const port = (holder.address() as { port: number }).port;
    const result = await runAgent(['run', '--name', 'ratings-v1', '--readiness-port', String(port)], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }),
    });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `kuma-dp: readiness port ${port} is already in use on 127.0.0.1: another dataplane on this host may hold it; give each dataplane its own --readiness-port, or 0 for a free port the system picks\n`);
    assert.equal(cp.requests.length, 0);
  });

  it('serves nothing with --readiness-port 0', async () => {
    const port = await freePort();
    const { agent } = await startDataplane(['--drain-time', '0s', '--readiness-port', '0']);
    await agent.waitFor('envoy-live');
    assert.equal(await readinessAnswer(port), 'down');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

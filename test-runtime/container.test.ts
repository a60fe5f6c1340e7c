// The image built from templates/Dockerfile, run by podman as the README runs it: tini as PID 1,
// kuma-dp and the (stand-in) Envoy under the image's user, the health check, podman stop. The fake
// kuma-cp listens in a network namespace of the test's own, which the container joins.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readAdminLog, readSignalLog, readStarts } from '../stand-ins/envoy-records.js';
import { isAlive, tempDir, waitUntil } from '../test/helpers/agent.js';
import type { Mode } from '../stand-ins/control-plane.js';
import { exitCode, processes, recordDir, run, runOk, session, startContainer } from './containers.js';
import { CP_URL, startNetnsControlPlane } from './netns/control-plane.js';

const image = session.images.kumaDp;
/** The image's own readiness port (its ENV KUMA_READINESS_PORT), where its HEALTHCHECK asks. */
const READINESS_PORT = 9902;
const DRAIN_SECONDS = 2;
/** kuma-dp's default --envoy-stop-timeout: the longest Envoy may take after the drain. */
const STOP_TIMEOUT_SECONDS = 5;

async function imageUid(): Promise<number> {
  const user = (await runOk(['image', 'inspect', '--format', '{{.Config.User}}', image])).trim();
  const uid = Number(user.split(':')[0]);
  assert.ok(Number.isInteger(uid) && uid > 0, `the image runs as a non-root uid (USER ${user})`);
  return uid;
}

/**
 * The image run as the README runs it, in a network namespace of its own with the fake kuma-cp
 * (answering in `cpMode`), with these settings and any more podman arguments; the fake Envoy
 * records into the returned dir.
 */
async function startSidecar(vars: Record<string, string>, options: { podmanArgs?: string[]; cpMode?: Mode } = {}) {
  const cp = await startNetnsControlPlane(tempDir('kuma-dp-test-runtime-netns-'));
  after(() => cp.close());
  if (options.cpMode) await cp.setMode(options.cpMode);
  const records = recordDir(await imageUid());
  const settings = { KUMA_CONTROL_PLANE_URL: CP_URL, FAKE_ENVOY_RECORD_DIR: '/records', ...vars };
  const env = Object.entries(settings).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  const name = await startContainer(['--network', cp.network, '--volume', `${records}:/records`, ...(options.podmanArgs ?? []), ...env], image);
  return { cp, records, name };
}

describe('the image of templates/Dockerfile under podman', () => {
  it('runs kuma-dp under tini as the image user: bootstrap, Envoy, /ready, the health check, and a drained podman stop', async () => {
    const uid = await imageUid();
    // The CP fails at first (kuma-dp retries), so that the health check is seen failing before it passes.
    const { cp, records, name } = await startSidecar(
      {
        KUMA_DATAPLANE_NAME: 'ratings-v1',
        KUMA_DATAPLANE_MESH: 'bookinfo',
        KUMA_CONTROL_PLANE_RETRY_BACKOFF: '200ms',
        KUMA_DATAPLANE_DRAIN_TIME: `${DRAIN_SECONDS}s`,
      },
      { cpMode: 'error' },
    );
    await waitUntil(async () => (await cp.requests()).length > 0, 30_000, 'a bootstrap request');
    assert.equal(await cp.probe(READINESS_PORT), '503 NOT_READY');
    const early = await run(['healthcheck', 'run', name]);
    assert.notEqual(early.code, 0, 'the health check fails while the dataplane is not ready');

    await cp.setMode('ok');
    await waitUntil(async () => (await cp.probe(READINESS_PORT)) === '200 READY', 30_000, 'the readiness endpoint to answer READY');
    const health = await run(['healthcheck', 'run', name]);
    assert.equal(health.code, 0, `the health check passes once ready: ${health.stdout}${health.stderr}`);
    assert.equal((await runOk(['inspect', '--format', '{{.State.Health.Status}}', name])).trim(), 'healthy');
    // The README's way to wait for the sidecar from another container in its network namespace.
    const wait = await run(['run', '--rm', '--network', `container:${name}`, image, 'wait', '--timeout', '30s'], { timeoutMs: 60_000 });
    assert.equal(wait.code, 0, wait.stderr);

    const [request] = await cp.requests();
    assert.equal(request!.body.name, 'ratings-v1');
    assert.equal(request!.body.mesh, 'bookinfo');
    const starts = readStarts(records);
    assert.equal(starts.length, 1, 'one Envoy started');
    const ps = await processes(name);
    const init = ps.find((p) => p.pid === 1);
    assert.match(init?.args ?? '', /^\/usr\/bin\/tini -- /, 'tini is PID 1');
    const agent = ps.find((p) => p.ppid === 1);
    assert.match(agent?.args ?? '', /\/usr\/local\/bin\/kuma-dp run$/, 'kuma-dp is the child of tini');
    const envoy = ps.find((p) => p.pid === starts[0]!.pid);
    assert.equal(envoy?.ppid, agent!.pid, 'Envoy is the child of kuma-dp');
    assert.match(envoy!.args, /\/usr\/local\/bin\/envoy --config-path /);
    assert.deepEqual(
      ps.map((p) => p.uid),
      ps.map(() => uid),
      'every process runs as the image user',
    );

    const started = Date.now();
    const stop = await run(['stop', '--time', '30', name], { timeoutMs: 60_000 });
    const tookMs = Date.now() - started;
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await exitCode(name), 0, 'kuma-dp exits 0 and tini passes it on');
    assert.ok(tookMs >= DRAIN_SECONDS * 1000, `Envoy drained for ${DRAIN_SECONDS}s (the stop took ${tookMs}ms)`);
    assert.ok(tookMs < (DRAIN_SECONDS + STOP_TIMEOUT_SECONDS) * 1000, `the stop ended on its own, not by podman's kill (${tookMs}ms)`);
    const calls = readAdminLog(records).map((entry) => `${entry.method} ${entry.path}`);
    assert.ok(calls.includes('POST /healthcheck/fail'), calls.join(', '));
    assert.ok(calls.includes('POST /drain_listeners?graceful&skip_exit'), calls.join(', '));
    assert.deepEqual(readSignalLog(records).map((entry) => entry.signal), ['SIGTERM'], 'Envoy was stopped with SIGTERM after the drain');
    for (const p of ps) assert.ok(!isAlive(p.hostPid), `${p.args} is gone`);
  });

  it('exits non-zero when Envoy crash-loops', async () => {
    const { records, name } = await startSidecar({
      KUMA_DATAPLANE_NAME: 'ratings-v1',
      KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_LIMIT: '3',
      KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_BACKOFF: '100ms',
      FAKE_ENVOY_CRASH: 'exit:1',
    });
    await waitUntil(async () => (await exitCode(name)) !== -1, 60_000, 'the container to exit');
    assert.equal(await exitCode(name), 1);
    assert.equal(readStarts(records).length, 3, 'kuma-dp gave up after --envoy-restart-limit crashes');
  });

  it('names the dataplane after --hostname when no name is set', async () => {
    const { cp, name } = await startSidecar({ KUMA_DATAPLANE_DRAIN_TIME: '0s' }, { podmanArgs: ['--hostname', 'ratings-v1-5f7b9'] });
    await waitUntil(async () => (await cp.probe(READINESS_PORT)) === '200 READY', 30_000, 'ready');
    const requests = await cp.requests();
    assert.deepEqual(
      requests.map((r) => r.body.name),
      ['ratings-v1-5f7b9'],
    );
    const stop = await run(['stop', '--time', '30', name], { timeoutMs: 60_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await exitCode(name), 0);
  });
});

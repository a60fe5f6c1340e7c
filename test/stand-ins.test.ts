// The agent's tests trust the stand-ins; these checks hold them to CONTRACTS.md (beside the project, in
// ../shared). conformance/bootstraps.test.ts holds the built bootstraps to Kuma's golden files.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startControlPlane, type Mode } from '../stand-ins/control-plane.js';
import { readAdminLog, readSignalLog, readStarts } from '../stand-ins/envoy-records.js';
import { parse as parseYaml } from 'yaml';
import { buildBootstrap } from '../stand-ins/bootstraps.js';
import { fakeEnvoyBin, fakeEnvoyBundle } from '../stand-ins/paths.js';

interface Envoy {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'stand-ins-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function spawnEnvoy(t: TestContext, args: string[], env: Record<string, string> = {}): Envoy {
  const child = spawn(fakeEnvoyBin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

function writeConfig(dir: string, port: number, extra = 'dynamicResources:\n  cdsConfig: {ads: {}}\n'): string {
  const path = join(dir, 'bootstrap.yaml');
  writeFileSync(path, `admin:\n  address:\n    socketAddress:\n      address: 127.0.0.1\n      portValue: ${port}\n${extra}`);
  return path;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const get = async (url: string, method = 'GET'): Promise<{ status: number; body: string }> => {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.text() };
};

async function startServing(t: TestContext, env: Record<string, string> = {}, args: string[] = []) {
  const dir = tempDir(t);
  const port = await freePort();
  const config = writeConfig(dir, port);
  const envoy = spawnEnvoy(t, ['--config-path', config, '--disable-hot-restart', ...args], { FAKE_ENVOY_RECORD_DIR: dir, ...env });
  const admin = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${admin}/ready`).then(() => true), 'admin server');
  return { dir, config, port, admin, envoy };
}

describe('fake envoy', () => {
  test('--version prints the contract line', async (t) => {
    const envoy = spawnEnvoy(t, ['--version']);
    assert.deepEqual(await envoy.exited, { code: 0, signal: null });
    assert.equal(envoy.stdout(), '\nenvoy  version: 50ea83e602d5da162df89fd5798301e22f5540cf/1.34.1/Clean/RELEASE/BoringSSL\n\n');
    assert.match(envoy.stdout().split('\n')[1]!, /^envoy {2}version: [0-9a-f]{40}\/\d+\.\d+\.\d+\/Clean\/RELEASE\/BoringSSL$/);

    // The wrapper answers --version itself; the bundled fake must say the same.
    const bundled = execFileSync(process.execPath, [fakeEnvoyBundle, '--version'], { encoding: 'utf8' });
    assert.equal(bundled, envoy.stdout());

    const odd = spawnEnvoy(t, ['--version'], { FAKE_ENVOY_VERSION_OUTPUT: 'envoy unknown\n' });
    assert.equal((await odd.exited).code, 0);
    assert.equal(odd.stdout(), 'envoy unknown\n');
  });

  test('bad arguments exit 1 with a TCLAP parse error', async (t) => {
    const dir = tempDir(t);
    const config = writeConfig(dir, 0);
    for (const args of [['--no-such-flag'], ['--config-path'], [`--config-path=${config}`], ['-c', config, '--concurrency', 'two'], ['-c', config, '-c', config]]) {
      const envoy = spawnEnvoy(t, args);
      assert.equal((await envoy.exited).code, 1, args.join(' '));
      assert.match(envoy.stderr(), /^PARSE ERROR: Argument: /, args.join(' '));
    }
    const badLevel = spawnEnvoy(t, ['-c', config, '--log-level', 'loud']);
    assert.equal((await badLevel.exited).code, 1);
    assert.match(badLevel.stderr(), /invalid log level/);
  });

  test('missing or unparsable config exits 1; validate mode binds nothing', async (t) => {
    const dir = tempDir(t);
    const missing = spawnEnvoy(t, ['-c', join(dir, 'nope.yaml')]);
    assert.equal((await missing.exited).code, 1);
    assert.match(missing.stderr(), /nope\.yaml/);

    writeFileSync(join(dir, 'bad.yaml'), 'admin: [unclosed');
    const bad = spawnEnvoy(t, ['-c', join(dir, 'bad.yaml')]);
    assert.equal((await bad.exited).code, 1);

    writeFileSync(join(dir, 'html.yaml'), '<html><body>hello</body></html>');
    const html = spawnEnvoy(t, ['-c', join(dir, 'html.yaml')]);
    assert.equal((await html.exited).code, 1);

    const blocker = net.createServer().listen(0, '127.0.0.1');
    t.after(() => blocker.close());
    await new Promise((resolve) => blocker.once('listening', resolve));
    const config = writeConfig(dir, (blocker.address() as net.AddressInfo).port);
    const validate = spawnEnvoy(t, ['--mode', 'validate', '-c', config]);
    assert.deepEqual(await validate.exited, { code: 0, signal: null });
    assert.equal(validate.stdout(), `configuration '${config}' OK\n`);

    for (const [name, yaml] of [
      ['modern', buildBootstrap('modern')],
      ['modern, admin on a socket', buildBootstrap('modern', { adminSocket: join(dir, 'admin.sock') })],
      ['legacy', buildBootstrap('legacy')],
      ['legacy without admin', buildBootstrap('legacy', { adminPort: 0 })],
    ]) {
      const file = join(dir, 'built.yaml');
      writeFileSync(file, yaml!);
      const built = spawnEnvoy(t, ['--mode', 'validate', '-c', file]);
      assert.equal((await built.exited).code, 0, name);
    }
  });

  test('admin API: states, stats, server_info, POST-only endpoints, records; SIGTERM exits 0', async (t) => {
    const { dir, config, admin, envoy } = await startServing(t, { FAKE_ENVOY_XDS_DELAY_MS: '300' }, ['--drain-time-s', '7', '--base-id', '3']);
    const early = await get(`${admin}/ready`);
    assert.equal(early.status, 503);
    assert.match(early.body, /^(PRE_INITIALIZING|INITIALIZING)\n$/);
    await waitFor(async () => ((await get(`${admin}/ready`)).status === 200 ? true : undefined), 'LIVE');
    assert.equal((await get(`${admin}/ready`)).body, 'LIVE\n');

    const stats = (await (await fetch(`${admin}/stats?format=json`)).json()) as { stats: Array<{ name: string; value: number }> };
    const stat = (name: string) => stats.stats.find((s) => s.name === name)?.value;
    assert.equal(stat('cluster_manager.cds.update_success'), 1);
    assert.equal(stat('listener_manager.lds.update_success'), 1);
    assert.equal(stat('server.live'), 1);
    assert.match((await get(`${admin}/stats/prometheus`)).body, /^envoy_server_live\{\} 1$/m);

    const info = (await (await fetch(`${admin}/server_info`)).json()) as { version: string; state: string; command_line_options: Record<string, unknown> };
    assert.equal(info.state, 'LIVE');
    assert.equal(info.version, '50ea83e602d5da162df89fd5798301e22f5540cf/1.34.1/Clean/RELEASE/BoringSSL');
    assert.equal(info.command_line_options.drain_time, '7s');
    assert.equal(info.command_line_options.base_id, '3');
    assert.equal(info.command_line_options.restart_epoch, 0);

    for (const path of ['/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/quitquitquit', '/logging']) {
      assert.equal((await get(`${admin}${path}`)).status, 400, path);
    }
    assert.equal((await get(`${admin}/nope`)).status, 404);
    assert.equal((await get(`${admin}/healthcheck/fail`, 'POST')).status, 200);
    assert.deepEqual(await get(`${admin}/ready`), { status: 503, body: 'DRAINING\n' });
    assert.equal((await get(`${admin}/drain_listeners?graceful&inboundonly`, 'POST')).status, 200);
    assert.equal((await get(`${admin}/healthcheck/ok`, 'POST')).status, 200);
    assert.equal((await get(`${admin}/ready`)).status, 200);
    const state = (await (await fetch(`${admin}/fake/state`)).json()) as { drains: Array<{ graceful: boolean; skipExit: boolean }> };
    assert.equal(state.drains.length, 1);
    assert.equal(state.drains[0]!.graceful, true);
    assert.equal(state.drains[0]!.skipExit, false);

    envoy.child.kill('SIGUSR1');
    await waitFor(async () => (readSignalLog(dir).length === 1 ? true : undefined), 'SIGUSR1 record');
    envoy.child.kill('SIGTERM');
    assert.deepEqual(await envoy.exited, { code: 0, signal: null });

    const [start] = readStarts(dir);
    assert.equal(start!.pid, envoy.child.pid);
    assert.equal(start!.configPath, config);
    assert.equal(start!.config, readFileSync(config, 'utf8'));
    assert.deepEqual(start!.argv.slice(0, 2), ['--config-path', config]);
    assert.deepEqual(readSignalLog(dir).map((s) => s.signal), ['SIGUSR1', 'SIGTERM']);
    assert.ok(readAdminLog(dir).some((e) => e.method === 'POST' && e.path === '/drain_listeners?graceful&inboundonly'));
  });

  test('without xDS, /ready turns LIVE only after the initial fetch timeout, counters stay 0', async (t) => {
    const { admin } = await startServing(t, { FAKE_ENVOY_NO_XDS: '1', FAKE_ENVOY_INITIAL_FETCH_TIMEOUT_MS: '300' });
    assert.equal((await get(`${admin}/ready`)).status, 503);
    await waitFor(async () => ((await get(`${admin}/ready`)).status === 200 ? true : undefined), 'LIVE');
    const stats = (await (await fetch(`${admin}/stats?format=json`)).json()) as { stats: Array<{ name: string; value: number }> };
    assert.equal(stats.stats.find((s) => s.name === 'cluster_manager.cds.update_success')?.value, 0);
  });

  test('quitquitquit exits 0; admin address path is written', async (t) => {
    const dir = tempDir(t);
    const addressPath = join(dir, 'admin-address');
    const { admin, envoy } = await startServing(t, {}, ['--admin-address-path', addressPath]);
    assert.equal(`http://${readFileSync(addressPath, 'utf8')}`, admin);
    assert.deepEqual(await get(`${admin}/quitquitquit`, 'POST'), { status: 200, body: 'OK\n' });
    assert.deepEqual(await envoy.exited, { code: 0, signal: null });
  });

  test('crashes on demand: by exit code, by signal, only the first N times', async (t) => {
    const dir = tempDir(t);
    const config = writeConfig(dir, 0);
    const base = ['-c', config, '--disable-hot-restart'];
    assert.deepEqual(await spawnEnvoy(t, base, { FAKE_ENVOY_CRASH: 'exit:3' }).exited, { code: 3, signal: null });
    assert.deepEqual(await spawnEnvoy(t, base, { FAKE_ENVOY_CRASH: 'signal:SIGSEGV' }).exited, { code: null, signal: 'SIGSEGV' });
    assert.deepEqual(await spawnEnvoy(t, base, { FAKE_ENVOY_CRASH: 'signal:SIGABRT' }).exited, { code: null, signal: 'SIGABRT' });

    const crashEnv = { FAKE_ENVOY_CRASH: 'exit:2', FAKE_ENVOY_CRASH_TIMES: '1', FAKE_ENVOY_RECORD_DIR: dir };
    assert.equal((await spawnEnvoy(t, base, crashEnv).exited).code, 2);
    const survivor = spawnEnvoy(t, base, crashEnv);
    // Signal handlers are in place once it serves: a loaded machine may take long to get there.
    await waitFor(async () => (/starting main dispatch loop/.test(survivor.stderr()) ? true : undefined), 'the survivor to serve', 10_000);
    assert.equal(survivor.child.exitCode, null);
    survivor.child.kill('SIGINT');
    assert.deepEqual(await survivor.exited, { code: 0, signal: null });
    assert.equal(readStarts(dir).length, 2);

    const served = await startServing(t);
    assert.equal((await get(`${served.admin}/fake/crash?signal=SIGSEGV`, 'POST')).status, 200);
    assert.deepEqual(await served.envoy.exited, { code: null, signal: 'SIGSEGV' });
  });

  test('hang-on-term ignores SIGTERM, SIGKILL still works', async (t) => {
    const { admin, envoy } = await startServing(t);
    assert.equal((await get(`${admin}/fake/hang-on-term`, 'POST')).status, 200);
    envoy.child.kill('SIGTERM');
    await sleep(200);
    assert.equal(envoy.child.exitCode, null);
    assert.equal((await get(`${admin}/ready`)).status, 200);
    envoy.child.kill('SIGKILL');
    assert.equal((await envoy.exited).signal, 'SIGKILL');
  });

  test('admin port clash and hot-restart base id clash exit 1', async (t) => {
    const first = await startServing(t);
    const second = spawnEnvoy(t, ['-c', first.config, '--disable-hot-restart']);
    assert.equal((await second.exited).code, 1);
    assert.match(second.stderr(), new RegExp(`cannot bind '127\\.0\\.0\\.1:${first.port}': Address already in use`));

    const dir = tempDir(t);
    const baseId = String(1000 + Math.floor(Math.random() * 1_000_000));
    const holder = spawnEnvoy(t, ['-c', writeConfig(dir, 0), '--base-id', baseId]);
    await waitFor(async () => (/starting main dispatch loop/.test(holder.stderr()) ? true : undefined), 'first epoch');
    const clash = spawnEnvoy(t, ['-c', writeConfig(dir, 0), '--base-id', baseId]);
    assert.equal((await clash.exited).code, 1);
    assert.match(clash.stderr(), new RegExp(`unable to bind domain socket with base_id=${baseId}.*errno=98`));
    const disabled = spawnEnvoy(t, ['-c', writeConfig(dir, 0), '--base-id', baseId, '--disable-hot-restart']);
    await waitFor(async () => (/starting main dispatch loop/.test(disabled.stderr()) ? true : undefined), 'no hot restart');
  });
});

describe('built bootstraps', () => {
  test('have the shape CONTRACTS.md gives each generation', () => {
    const modern = parseYaml(buildBootstrap('modern', { mesh: 'bookinfo', name: 'ratings-v1', token: 'secret', adminPort: 9911 }));
    assert.deepEqual(modern.admin.address, { socketAddress: { address: '127.0.0.1', portValue: 9911 } });
    assert.equal(modern.node.id, 'bookinfo.ratings-v1');
    assert.equal(modern.node.metadata['dataplane.admin.port'], '9911');
    assert.equal(modern.dynamicResources.adsConfig.apiType, 'DELTA_GRPC');
    assert.deepEqual(modern.dynamicResources.adsConfig.grpcServices[0].initialMetadata, [{ key: 'authorization', value: 'secret' }]);
    const socket = parseYaml(buildBootstrap('modern', { adminSocket: '/tmp/kuma-envoy-admin.sock' }));
    assert.deepEqual(socket.admin.address, { pipe: { path: '/tmp/kuma-envoy-admin.sock' } });
    assert.equal(socket.node.metadata['dataplane.admin.socketPath'], '/tmp/kuma-envoy-admin.sock');

    const legacy = parseYaml(buildBootstrap('legacy'));
    assert.deepEqual(legacy.admin, { accessLogPath: '/dev/null', address: { socketAddress: { address: '127.0.0.1', portValue: 9901 } } });
    assert.equal(legacy.dynamicResources.adsConfig.grpcServices[0].envoyGrpc.clusterName, 'ads_cluster');
    assert.equal(parseYaml(buildBootstrap('legacy', { adminPort: 0 })).admin, undefined);
  });
});

describe('fake control plane', () => {
  const request = { mesh: 'default', name: 'dp-1', proxyType: 'dataplane' };
  const post = (url: string, headers: Record<string, string> = {}, body: string = JSON.stringify(request)) =>
    fetch(`${url}/bootstrap`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  test('modern: JSON envelope round-trips the bootstrap, YAML without the accept header', async (t) => {
    const cp = await startControlPlane({ generation: 'modern' });
    t.after(() => cp.close());
    const res = await post(cp.url, { accept: 'application/json' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const envelope = (await res.json()) as { bootstrap: string; kumaSidecarConfiguration: unknown };
    assert.equal(Buffer.from(envelope.bootstrap, 'base64').toString('utf8'), buildBootstrap('modern'));
    assert.deepEqual(envelope.kumaSidecarConfiguration, { networking: { address: '127.0.0.1' }, metrics: { aggregate: [] } });

    const yaml = await post(cp.url);
    assert.equal(yaml.headers.get('content-type'), 'text/x-yaml');
    assert.equal(await yaml.text(), buildBootstrap('modern'));

    assert.equal(cp.requests.length, 2);
    assert.deepEqual(cp.requests[0]!.body, request);
    assert.equal(cp.requests[0]!.headers.accept, 'application/json');
    assert.equal(cp.requests[0]!.path, '/bootstrap');
  });

  test('legacy: YAML as text/plain whatever the accept header; bad JSON is 400', async (t) => {
    const cp = await startControlPlane({ generation: 'legacy' });
    t.after(() => cp.close());
    const res = await post(cp.url, { accept: 'application/json' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), buildBootstrap('legacy'));
    assert.equal((await post(cp.url, {}, '{not json')).status, 400);
    assert.equal(cp.requests[1]!.body, '{not json');
  });

  test('modes, wrong paths and methods', async (t) => {
    const cp = await startControlPlane({ generation: 'modern' });
    t.after(() => cp.close());
    const cases: Array<[Mode, number, string]> = [
      ['not-found', 404, ''],
      ['page-not-found', 404, '404: Page Not Found'],
      ['unprocessable', 422, 'token required'],
      [{ kind: 'unprocessable', reason: 'mesh: cannot be empty' }, 422, 'mesh: cannot be empty'],
      ['bad-request', 400, 'bad request'],
      ['error', 500, ''],
    ];
    for (const [mode, status, body] of cases) {
      cp.setMode(mode);
      const res = await post(cp.url, { accept: 'application/json' });
      assert.deepEqual({ status: res.status, body: await res.text() }, { status, body }, JSON.stringify(mode));
    }

    cp.setMode('garbage');
    const envelope = (await (await post(cp.url, { accept: 'application/json' })).json()) as { bootstrap: string };
    assert.doesNotMatch(Buffer.from(envelope.bootstrap, 'base64').toString(), /admin:/);
    assert.match(await (await post(cp.url)).text(), /<html>/);

    cp.setMode({ kind: 'fail-times', times: 2, status: 500 });
    assert.deepEqual([(await post(cp.url)).status, (await post(cp.url)).status, (await post(cp.url)).status], [500, 500, 200]);

    assert.deepEqual(await get(`${cp.url}/elsewhere`, 'POST'), { status: 404, body: '404: Page Not Found' });
    assert.equal((await get(`${cp.url}/bootstrap`)).status, 405);
  });

  test('only listed dataplanes get a bootstrap; a late start on a fixed port; bootstrap as a function', async (t) => {
    const port = await freePort();
    const cp = await startControlPlane({
      generation: 'modern',
      port,
      dataplanes: ['dp-1', 'from-template'],
      bootstrap: (body) => `node:\n  id: ${String(body.mesh)}.${String(body.name)}\n`,
    });
    t.after(() => cp.close());
    assert.equal(cp.url, `http://127.0.0.1:${port}`);
    const waiting = cp.waitForRequest();
    assert.equal(await (await post(cp.url)).text(), 'node:\n  id: default.dp-1\n');
    assert.equal((await waiting).path, '/bootstrap');
    const stranger = await post(cp.url, {}, JSON.stringify({ mesh: 'default', name: 'dp-9' }));
    assert.deepEqual({ status: stranger.status, body: await stranger.text() }, { status: 404, body: '' });
    const templated = await post(cp.url, {}, JSON.stringify({ mesh: 'default', name: 'x', dataplaneResource: '{"type":"Dataplane","mesh":"default","name":"from-template"}' }));
    assert.equal(templated.status, 200);
  });
});

test('the wrapper is executable', () => {
  assert.ok(readFileSync(fakeEnvoyBin, 'utf8').startsWith('#!/bin/sh'));
  assert.equal(statSync(fakeEnvoyBin).mode & 0o111, 0o111);
});

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { agentEnv, runAgent, startAgent, tempDir, waitUntil } from './helpers/agent.js';
import { freePort, startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';
import { readAdminLog, readSignalLog, readStarts } from '../stand-ins/envoy-records.js';

/**
 * An app that records what it sees: whether the sidecar is ready when it starts, the signals it
 * gets, and whether Envoy's admin (its outbound path) still answers when it is told to stop.
 */
const APP = `
const fs = require('node:fs');
const [events, adminPort, exitCode, ignoreTerm] = process.argv.slice(2);
const note = (what, extra = {}) => fs.appendFileSync(events, JSON.stringify({ what, time: Date.now(), ...extra }) + '\\n');
const envoy = () => fetch('http://127.0.0.1:' + adminPort + '/ready').then((r) => r.text(), () => 'unreachable');
envoy().then((ready) => note('start', { ready: ready.trim() }));
process.on('SIGHUP', () => note('SIGHUP'));
process.on('SIGTERM', async () => {
  note('SIGTERM', { envoy: (await envoy()).trim() });
  if (ignoreTerm !== 'ignore') setTimeout(() => process.exit(0), 100);
});
if (exitCode !== 'run') setTimeout(() => process.exit(Number(exitCode)), 300);
setInterval(() => {}, 1000);
`;

async function setup(appArgs: string[], flags: string[] = []) {
  const cp: ControlPlane = await startControlPlane({ generation: 'modern' });
  after(() => cp.close());
  const dir = tempDir();
  const record = tempDir();
  const app = path.join(dir, 'app.cjs');
  writeFileSync(app, APP);
  const events = path.join(dir, 'events.jsonl');
  const adminPort = await freePort();
  const agent = startAgent(['run', '--admin-port', String(adminPort), ...flags, '--', process.execPath, app, events, String(adminPort), ...appArgs], {
    env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'web', FAKE_ENVOY_RECORD_DIR: record }),
  });
  const read = (): Array<{ what: string; time: number; ready?: string; envoy?: string }> =>
    existsSync(events) ? readFileSync(events, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { agent, record, read, cp };
}

describe('app mode: kuma-dp run -- <app>', () => {
  it('starts the app only once the dataplane is ready, and on stop drains inbound, stops the app, then Envoy', async () => {
    const { agent, record, read } = await setup(['run'], ['--drain-time', '500ms']);
    await waitUntil(() => read().some((e) => e.what === 'start'), 10_000, 'the app to start');
    assert.equal(read()[0]!.ready, 'LIVE', 'Envoy was live when the app started');
    const live = agent.lines.findIndex((l) => l.event === 'envoy-live');
    const started = agent.lines.findIndex((l) => l.event === 'app-started');
    assert.ok(live >= 0 && started > live);

    agent.kill('SIGHUP');
    await waitUntil(() => read().some((e) => e.what === 'SIGHUP'), 3000, 'SIGHUP at the app');

    const envoyPid = readStarts(record)[0]!.pid;
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    const drain = readAdminLog(record).find((e) => e.path.startsWith('/drain_listeners'))!;
    assert.match(drain.path, /inboundonly/);
    const appTerm = read().find((e) => e.what === 'SIGTERM')!;
    assert.notEqual(appTerm.envoy, 'unreachable', 'Envoy still answered while the app shut down');
    const envoyTerm = readSignalLog(record).find((s) => s.pid === envoyPid && s.signal === 'SIGTERM')!;
    assert.ok(Date.parse(drain.time) <= appTerm.time, 'drain before the app stops');
    assert.ok(appTerm.time - Date.parse(drain.time) >= 450, 'the app is stopped after the drain time');
    assert.ok(appTerm.time <= Date.parse(envoyTerm.time), 'Envoy is stopped after the app');
  });

  it("stops the dataplane when the app exits, with the app's exit code", async () => {
    const { agent, record } = await setup(['3']);
    const exit = await agent.exited;
    assert.equal(exit.code, 3);
    assert.ok(agent.lines.some((l) => l.event === 'app-exited' && l.exitCode === 3));
    assert.ok(agent.lines.some((l) => l.event === 'envoy-stopped'));
    assert.equal(readStarts(record).length, 1);
  });

  it('SIGKILLs an app that ignores SIGTERM after the stop timeout', async () => {
    const { agent, read } = await setup(['run', 'ignore'], ['--drain-time', '0s', '--envoy-stop-timeout', '300ms']);
    await waitUntil(() => read().some((e) => e.what === 'start'), 10_000, 'the app to start');
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    assert.ok(agent.lines.some((l) => l.event === 'app-killed'));
  });

  it('refuses an app that does not exist before starting anything', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const result = await runAgent(['run', '--', 'no-such-app-xyz', '--flag'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'web' }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'kuma-dp: invalid application "no-such-app-xyz" after --: no such executable in PATH\n');
    assert.equal(cp.requests.length, 0);
  });
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDuration } from '../src/config/duration.js';
import { RUN_SETTINGS } from '../src/config/settings.js';
import { notifyTarget, SystemdNotifier } from '../src/notify/systemd.js';
import { statusOf } from '../src/dataplane/status.js';
import type { Readiness } from '../src/runtime/readiness.js';
import { initialState, isReady, type State } from '../src/supervisor/machine.js';
import { ManualClock } from './helpers/clock.js';
import pino from 'pino';
import { agentEntry, standInBin, tempDir, waitUntil } from './helpers/agent.js';
import { startNotifySocket } from './helpers/notify-socket.js';
import { startDataplane } from './helpers/readiness.js';
import { repoRoot } from '../stand-ins/paths.js';

const templates = path.join(repoRoot, 'templates');

/** What a dataplane reports for a supervisor state (see src/dataplane/dataplane.ts). */
function report(state: State, wasReady = false): { readiness: Readiness; status: string } {
  const readiness: Readiness = state.stopping || state.phase === 'stopped' ? 'TERMINATING' : isReady(state) ? 'READY' : 'NOT_READY';
  return { readiness, status: statusOf(state, wasReady) };
}

const live = (pid: number, isLive: boolean) => ({ pid, startedAt: 0, live: isLive });

describe('notifyTarget', () => {
  it('reads NOTIFY_SOCKET, and the watchdog interval only when it is meant for this process', () => {
    assert.equal(notifyTarget({}, 10), undefined);
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/run/systemd/notify' }, 10), { socket: '/run/systemd/notify' });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '30000000' }, 10), { socket: '@abstract', watchdogMs: 30_000 });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '10' }, 10), { socket: '/n', watchdogMs: 30_000 });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '11' }, 10), { socket: '/n' });
    assert.deepEqual(notifyTarget({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: 'x' }, 10), { socket: '/n' });
  });
});

describe('SystemdNotifier', () => {
  it('maps states to READY=1 once, STATUS= on change, STOPPING=1 once, and pings only while healthy', async () => {
    const sent: string[][] = [];
    const clock = new ManualClock();
    const advance = (ms: number) => clock.advance(ms);
    const notifier = new SystemdNotifier({ send: async (a) => void sent.push([...a]), clock, logger: pino({ level: 'silent' }), watchdogMs: 1000 });
    const states: State[] = [
      initialState,
      { ...initialState, phase: 'running', envoy: live(1, false) },
      { ...initialState, phase: 'running', envoy: live(1, true) },
    ];
    for (const state of states) notifier.update(report(state));
    await advance(500);
    notifier.update(report({ ...initialState, phase: 'backing-off', consecutiveCrashes: 1 }, true));
    await advance(1000);
    notifier.update(report({ ...initialState, phase: 'starting', restarts: 1, consecutiveCrashes: 1 }, true));
    notifier.update(report({ ...initialState, phase: 'running', restarts: 1, envoy: live(2, false) }, true));
    notifier.update(report({ ...initialState, phase: 'running', restarts: 1, envoy: live(2, true) }, true));
    await advance(500);
    notifier.update(report({ ...initialState, phase: 'draining', restarts: 1, envoy: live(2, true), stopping: true, stopSignals: 1 }, true));
    await advance(500);
    notifier.update(report({ ...initialState, phase: 'stopped', restarts: 1, stopping: true, stopSignals: 1 }, true));
    await notifier.close();
    await advance(5000);
    await Promise.resolve();
    assert.deepEqual(sent, [
      ['STATUS=starting: fetching the bootstrap from the control plane'],
      ['STATUS=starting: waiting for Envoy to be live with its configuration'],
      ['READY=1', 'STATUS=ready'],
      ['WATCHDOG=1'],
      ['STATUS=restarting Envoy after crash 1'],
      // no WATCHDOG=1 while Envoy is down after having been ready
      ['STATUS=ready (Envoy restarted 1 times after crashes)'],
      ['WATCHDOG=1'],
      ['STOPPING=1', 'STATUS=draining: Envoy stops taking traffic, then stops'],
      ['WATCHDOG=1'],
      ['STATUS=stopped'],
    ]);
  });
});

describe('kuma-dp run under a NOTIFY_SOCKET', () => {
  it('sends its notifications on a real datagram socket, in order, through start, crash, restart and stop', async () => {
    const socket = await startNotifySocket();
    const { agent } = await startDataplane(['--drain-time', '500ms', '--envoy-restart-backoff', '300ms'], {
      NOTIFY_SOCKET: socket.path,
      WATCHDOG_USEC: '300000',
      FAKE_ENVOY_XDS_DELAY_MS: '200',
    });
    const statuses = () => socket.messages().flat().filter((a) => a.startsWith('STATUS='));
    const first = await agent.waitFor('envoy-started');
    await waitUntil(() => socket.messages().some((m) => m.includes('READY=1')), 10_000, 'READY=1');
    const readyAt = () => socket.messages().findIndex((m) => m.includes('READY=1'));
    await waitUntil(() => socket.messages().slice(readyAt()).some((m) => m.includes('WATCHDOG=1')), 5000, 'a watchdog ping once ready');
    process.kill(first.envoyPid as number, 'SIGABRT');
    await waitUntil(() => statuses().some((s) => s.startsWith('STATUS=ready (')), 10_000, 'ready after the restart');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);

    const messages = socket.messages();
    for (const message of messages) assert.equal(message[0], `MAINPID=${agent.pid}`, 'systemd-notify names the agent as main process');
    const events = messages.map((m) => m.slice(1).join(' '));
    const lifecycle = events.filter((e) => e !== 'WATCHDOG=1');
    assert.deepEqual(lifecycle, [
      'STATUS=starting: fetching the bootstrap from the control plane',
      'STATUS=starting: waiting for Envoy to be live with its configuration',
      'READY=1 STATUS=ready',
      'STATUS=restarting Envoy after crash 1',
      'STATUS=ready (Envoy restarted 1 times after crashes)',
      'STOPPING=1 STATUS=draining: Envoy stops taking traffic, then stops',
      'STATUS=stopping Envoy',
      'STATUS=stopped',
    ]);
    const crash = events.indexOf('STATUS=restarting Envoy after crash 1');
    const back = events.indexOf('STATUS=ready (Envoy restarted 1 times after crashes)');
    assert.ok(events.slice(events.indexOf('READY=1 STATUS=ready'), crash).includes('WATCHDOG=1'), 'pings while ready');
    assert.ok(!events.slice(crash, back).includes('WATCHDOG=1'), 'no pings while Envoy is down');
  });

  it('warns and runs on when systemd-notify is not installed', async () => {
    const socket = await startNotifySocket();
    const bin = tempDir();
    symlinkSync('/usr/bin/dirname', path.join(bin, 'dirname'));
    symlinkSync('/usr/bin/mkfifo', path.join(bin, 'mkfifo'));
    // The agent's own #! line finds node on PATH.
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const { agent } = await startDataplane(['--drain-time', '0s'], {
      NOTIFY_SOCKET: socket.path,
      PATH: `${standInBin}${path.delimiter}${bin}`,
      FAKE_ENVOY_NODE: process.execPath,
    });
    await agent.waitFor('notify-unavailable');
    await agent.waitFor('envoy-live');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.deepEqual(socket.messages(), []);
  });
});

describe('execa, which runs systemd-notify', () => {
  it('is loaded only by an agent that systemd asks for notifications', async () => {
    const log = path.join(tempDir(), 'modules');
    const preload = { NODE_OPTIONS: `--import=${path.join(repoRoot, 'dist', 'test', 'helpers', 'module-log.js')}`, KUMA_DP_TEST_MODULE_LOG: log };
    const socket = await startNotifySocket();
    const [plain, notifying] = await Promise.all([
      startDataplane(['--drain-time', '0s'], preload),
      startDataplane(['--drain-time', '0s'], { ...preload, NOTIFY_SOCKET: socket.path }),
    ]);
    await Promise.all([plain.agent.waitFor('envoy-live', 20_000), notifying.agent.waitFor('envoy-live', 20_000)]);
    await waitUntil(() => socket.messages().some((m) => m.includes('READY=1')), 10_000, 'READY=1');
    for (const { agent } of [plain, notifying]) agent.kill('SIGTERM');
    for (const { agent } of [plain, notifying]) assert.equal((await agent.exited).code, 0);
    const loaded = (pid: number) =>
      readFileSync(log, 'utf8').split('\n').filter((line) => line.startsWith(`${pid} `)).map((line) => path.basename(line.slice(line.indexOf(' ') + 1)));
    const execaChunk = (name: string) => /^kuma-dp-execa-\w+\.mjs$/.test(name);
    assert.ok(loaded(plain.agent.pid).some((name) => /^kuma-dp-single-\w+\.mjs$/.test(name)), 'the log saw the run path of the bundle');
    assert.deepEqual(loaded(plain.agent.pid).filter(execaChunk), [], 'no NOTIFY_SOCKET: execa never loaded');
    assert.ok(loaded(notifying.agent.pid).some(execaChunk), 'NOTIFY_SOCKET: execa loaded to send');
  });
});

function unitValues(text: string, key: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
}

const seconds = (value: string) => parseDuration(value.replace(/min$/, 'm'), value);

describe('systemd units', () => {
  it('pass systemd-analyze verify', () => {
    const dir = tempDir();
    const agentCommand = `${process.execPath} ${agentEntry}`;
    // verify insists that ExecStart's binary exists: point it at this build of kuma-dp and at node.
    const render = (file: string, as: string) =>
      writeFileSync(
        path.join(dir, as),
        readFileSync(path.join(templates, file), 'utf8')
          .replace(/^ExecStart=\/usr\/local\/bin\/kuma-dp /m, `ExecStart=${agentCommand} `)
          .replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `),
      );
    render('kuma-dp@.service', 'kuma-dp@.service');
    render('kuma-dp@.service', 'kuma-dp@ratings-v1.service');
    render('app-example.service', 'ratings-v1.service');
    render('kuma-dp-fleet.service', 'kuma-dp-fleet.service');
    copyFileSync(path.join(dir, 'kuma-dp@.service'), path.join(dir, 'kuma-dp@x.service'));
    const units = ['kuma-dp@ratings-v1.service', 'ratings-v1.service', 'kuma-dp-fleet.service'];
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((f) => path.join(dir, f))], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warnings (unknown keys, bad values) either');
  });

  it('make kuma-dp a notify service that outlives its drain, and order the app after its sidecar', () => {
    const unit = readFileSync(path.join(templates, 'kuma-dp@.service'), 'utf8');
    assert.deepEqual(unitValues(unit, 'Type'), ['notify']);
    assert.deepEqual(unitValues(unit, 'NotifyAccess'), ['all'], 'systemd-notify is a child process');
    assert.deepEqual(unitValues(unit, 'KillMode'), ['mixed']);
    assert.deepEqual(unitValues(unit, 'Restart'), ['on-failure']);
    assert.deepEqual(unitValues(unit, 'EnvironmentFile'), ['/etc/kuma-dp/%i.env']);
    const drain = parseDuration(RUN_SETTINGS.drainTime.default!, 'drain') + parseDuration(RUN_SETTINGS.envoyStopTimeout.default!, 'stop');
    assert.ok(seconds(unitValues(unit, 'TimeoutStopSec')[0]!) > drain, 'TimeoutStopSec is above the drain time plus the stop timeout');
    assert.ok(seconds(unitValues(unit, 'WatchdogSec')[0]!) > 2 * parseDuration(RUN_SETTINGS.envoyRestartMaxBackoff.default!, 'backoff'));

    const fleet = readFileSync(path.join(templates, 'kuma-dp-fleet.service'), 'utf8');
    for (const key of ['Type', 'NotifyAccess', 'KillMode', 'Restart', 'TimeoutStopSec', 'WatchdogSec']) {
      assert.deepEqual(unitValues(fleet, key), unitValues(unit, key), `the fleet unit's ${key} is the per-dataplane unit's`);
    }
    assert.deepEqual(unitValues(fleet, 'ExecReload'), [`/bin/sh -c 'kill -HUP "$$MAINPID"'`], 'reload is SIGHUP: read the directory again');
    assert.deepEqual(unitValues(fleet, 'Environment'), ['KUMA_DATAPLANES_DIR=/etc/kuma-dp/dataplanes']);

    const app = readFileSync(path.join(templates, 'app-example.service'), 'utf8');
    const sidecar = unitValues(app, 'Requires');
    assert.equal(sidecar.length, 1);
    assert.match(sidecar[0]!, /^kuma-dp@[a-z0-9-]+\.service$/);
    assert.deepEqual(unitValues(app, 'After'), sidecar);
    assert.ok(execFileSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).startsWith('systemd'));
  });
});

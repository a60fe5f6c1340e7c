// The units of templates/ under a real systemd: a container whose PID 1 is systemd, with the units
// installed as the README says, kuma-dp and the stand-in Envoy from the project's image, and the
// fake kuma-cp in a network namespace of the test's own. Each case runs its own instance of
// kuma-dp@.service; where a case needs faster timers than production (the watchdog, the restart
// delay) it says so in a drop-in, and everything else is the template as shipped.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAdminLog, readSignalLog, readStarts } from '../stand-ins/envoy-records.js';
import { repoRoot } from '../stand-ins/paths.js';
import { tempDir, waitUntil } from '../test/helpers/agent.js';
import { recordDir, run, session, startContainer } from './containers.js';
import { CP_URL, startNetnsControlPlane } from './netns/control-plane.js';

const DRAIN_SECONDS = 2;
const STOP_TIMEOUT_SECONDS = 5;

// Set up at the top: what node:test's after() registers here lasts until the end of the file.
const cp = await startNetnsControlPlane(tempDir('kuma-dp-test-runtime-netns-'));
after(() => cp.close());
const records = recordDir(0);
// SYS_ADMIN: without it systemd silently skips ProtectSystem= and PrivateTmp=, and the hardening
// would go untested. SYS_PTRACE lets the test enter a unit's mount namespace to look at it.
const container = await startContainer(
  ['--systemd=always', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--network', cp.network, '--volume', `${records}:/records`],
  session.images.systemd,
);
const recorders = new Set<ChildProcess>();
after(() => recorders.forEach((child) => child.kill('SIGKILL')));

const shell = (script: string, input?: string) => run(['exec', '--interactive', container, 'sh', '-c', script], { input });
async function shellOk(script: string, input?: string): Promise<string> {
  const result = await shell(script, input);
  assert.equal(result.code, 0, `${script}: ${result.stderr}`);
  return result.stdout;
}

/** The unit's User=kuma-dp: the image's user. */
const kumaDpUid = Number(await shellOk('id -u kuma-dp'));

const unit = (instance: string) => `kuma-dp@${instance}.service`;

/** systemctl show's `Key=value` lines as a record. */
const properties = (lines: string[]): Record<string, string> =>
  Object.fromEntries(lines.filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));

/** systemctl show, as a record of the properties asked for. */
async function show(name: string, asked: readonly string[]): Promise<Record<string, string>> {
  return properties((await shellOk(`systemctl show ${asked.map((p) => `-p ${p}`).join(' ')} ${name}`)).split('\n'));
}

const alive = async (pid: number) => (await shell(`test -d /proc/${pid}`)).code === 0;

let nextPort = 9910;

/**
 * Installs kuma-dp@<instance>: its /etc/kuma-dp/<instance>.env as the README writes it, pointing
 * at the fake CP, with ports of its own; and a drop-in that lets the fake Envoy write its records
 * (ProtectSystem=strict makes the bind mount read-only), records how each run of kuma-dp ended
 * (systemd forgets it once an instance is inactive), and adds what the case needs.
 */
async function installInstance(instance: string, vars: Record<string, string> = {}, dropIn = ''): Promise<string> {
  const settings = {
    KUMA_CONTROL_PLANE_URL: CP_URL,
    KUMA_DATAPLANE_MESH: 'default',
    KUMA_DATAPLANE_ADMIN_PORT: String(nextPort++),
    KUMA_READINESS_PORT: String(nextPort++),
    KUMA_CONTROL_PLANE_RETRY_BACKOFF: '200ms',
    KUMA_DATAPLANE_DRAIN_TIME: `${DRAIN_SECONDS}s`,
    FAKE_ENVOY_RECORD_DIR: `/records/${instance}`,
    ...vars,
  };
  await writeEnvFile(`/etc/kuma-dp/${instance}.env`, settings);
  return configureUnit(unit(instance), instance, dropIn);
}

/** An EnvironmentFile as the README installs one: readable by root and the kuma-dp group only. */
async function writeEnvFile(file: string, vars: Record<string, string>): Promise<void> {
  await shellOk(`cat > ${file} && chgrp kuma-dp ${file} && chmod 0640 ${file}`, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
}

/** The test's drop-in for a unit, and the records directory /records/<name> it writes to. */
async function configureUnit(name: string, recordsName: string, dropIn: string): Promise<string> {
  const dir = path.join(records, recordsName);
  mkdirSync(dir);
  chownSync(dir, kumaDpUid, kumaDpUid);
  const conf = `[Service]\nReadWritePaths=/records\nExecStopPost=/bin/sh -c 'echo "$$SERVICE_RESULT $$EXIT_CODE $$EXIT_STATUS" >> /records/${recordsName}/exits'\n${dropIn}`;
  await shellOk(`mkdir -p /etc/systemd/system/${name}.d && cat > /etc/systemd/system/${name}.d/test.conf`, conf);
  await shellOk('systemctl daemon-reload');
  return dir;
}

interface Sample {
  ActiveState: string;
  SubState: string;
  Result: string;
  NRestarts: string;
  StatusText: string;
  MainPID: string;
  ExecMainStatus: string;
}

const SAMPLED = ['ActiveState', 'SubState', 'Result', 'NRestarts', 'StatusText', 'MainPID', 'ExecMainStatus'];

/**
 * Samples a unit's state inside the container every 50 ms (for at most two minutes) and keeps
 * every change, so that a case can assert the whole sequence systemd went through.
 */
function recordUnit(name: string): {
  samples: Sample[];
  /** The first sample (from index `from` on) that passes the check. */
  waitFor(what: string, check: (s: Sample) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<Sample>;
  stop(): void;
} {
  const script = `i=0; while [ $i -lt 2400 ]; do systemctl show ${SAMPLED.map((p) => `-p ${p}`).join(' ')} ${name} | paste -sd '\\t' || exit 0; sleep 0.05; i=$((i+1)); done`;
  const child = spawn('podman', ['exec', container, 'sh', '-c', script], { env: { ...process.env, ...session.env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const samples: Sample[] = [];
  let last = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines.filter((l) => l !== last)) {
      last = line;
      samples.push(properties(line.split('\t')) as unknown as Sample);
    }
  });
  recorders.add(child);
  const stop = () => void child.kill('SIGKILL');
  return {
    samples,
    stop,
    waitFor: async (what, check, { from = 0, timeoutMs = 30_000 } = {}) => {
      const found = () => samples.slice(from).find(check);
      await waitUntil(() => found() !== undefined, timeoutMs, `${name}: ${what} (seen: ${JSON.stringify(samples.slice(-5))})`);
      return found()!;
    },
  };
}

/** The main process and Envoy of a running instance, from the unit and the fake Envoy's records. */
async function pids(instance: string, dir: string): Promise<{ agent: number; envoy: number }> {
  const agent = Number((await show(unit(instance), ['MainPID'])).MainPID);
  const starts = readStarts(dir);
  assert.ok(agent > 0 && starts.length > 0, `${instance} runs`);
  return { agent, envoy: starts.at(-1)!.pid };
}

/** How each run of the instance ended: "<Result> <exited|killed|dumped> <status or signal>". */
const exits = (dir: string) => (existsSync(path.join(dir, 'exits')) ? readFileSync(path.join(dir, 'exits'), 'utf8').split('\n').filter(Boolean) : []);

/** Collapses runs of equal values: the sequence of changes. */
const changes = (values: string[]) => values.filter((v, i) => v !== values[i - 1]);

describe('the units of templates/ under systemd', () => {
  before(async () => {
    await waitUntil(async () => /^(running|degraded)\s*$/.test((await shell('systemctl is-system-running')).stdout), 60_000, 'systemd to boot');
  });

  it('pass systemd-analyze verify as installed', async () => {
    // Every unit of templates/, a template as one of its instances.
    const units = readdirSync(path.join(repoRoot, 'templates'))
      .filter((file) => file.endsWith('.service'))
      .map((file) => file.replace(/@\.service$/, '@ratings-v1.service'));
    assert.ok(units.length >= 3, units.join(' '));
    const result = await shell(`systemd-analyze verify ${units.join(' ')}`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warnings either');
  });

  it('keep the unit activating until READY=1, then active, with StatusText following the agent', async () => {
    await cp.setMode('error');
    after(() => cp.setMode('ok'));
    const dir = await installInstance('status', { FAKE_ENVOY_XDS_DELAY_MS: '1500' });
    const states = recordUnit(unit('status'));
    await shellOk(`systemctl start --no-block ${unit('status')}`);
    await states.waitFor('retrying the CP while activating', (s) => s.ActiveState === 'activating' && s.StatusText === 'starting: fetching the bootstrap from the control plane');
    await waitUntil(async () => (await cp.requests()).filter((r) => r.body.name === 'status').length >= 3, 30_000, 'a few failed bootstrap requests');
    await cp.setMode('ok');
    await states.waitFor('active', (s) => s.ActiveState === 'active');
    const { envoy } = await pids('status', dir);
    await shellOk(`kill -ABRT ${envoy}`);
    await states.waitFor('ready again after the crash', (s) => s.StatusText === 'ready (Envoy restarted 1 times after crashes)');
    await shellOk(`systemctl stop ${unit('status')}`);
    states.stop();

    const seen = states.samples;
    const firstActive = seen.findIndex((s) => s.ActiveState === 'active');
    assert.ok(
      seen.slice(0, firstActive).every((s) => s.ActiveState === 'activating' || s.ActiveState === 'inactive'),
      'activating until then',
    );
    assert.equal(seen[firstActive]!.StatusText, 'ready', 'active exactly when kuma-dp says ready');
    assert.ok(
      seen.some((s) => s.ActiveState === 'activating' && s.StatusText === 'starting: waiting for Envoy to be live with its configuration'),
      'still activating while Envoy is up but not yet configured',
    );
    const statuses = changes(seen.map((s) => s.StatusText).filter(Boolean));
    const expected = [
      'starting: fetching the bootstrap from the control plane',
      'starting: waiting for Envoy to be live with its configuration',
      'ready',
      'restarting Envoy after crash 1',
      'ready (Envoy restarted 1 times after crashes)',
      'draining: Envoy stops taking traffic, then stops',
    ];
    assert.deepEqual(
      statuses.filter((s) => expected.includes(s)),
      expected,
      `StatusText went through ${statuses.join(' → ')}`,
    );
    assert.equal(Number(seen.at(-1)!.NRestarts), 0, 'an Envoy crash is kuma-dp\'s to handle, not systemd\'s');
  });

  describe('the watchdog (WatchdogSec=2s here, 2min as shipped)', () => {
    let dir: string;
    let states: ReturnType<typeof recordUnit>;
    before(async () => {
      dir = await installInstance('watchdog', {}, 'WatchdogSec=2s\nRestartSec=200ms\n');
      states = recordUnit(unit('watchdog'));
      await shellOk(`systemctl start ${unit('watchdog')}`);
    });

    it('keeps a healthy unit up', async () => {
      const first = await show(unit('watchdog'), ['MainPID', 'WatchdogTimestampMonotonic']);
      // Nothing to wait for but time: three watchdog periods without a restart.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const later = await show(unit('watchdog'), ['MainPID', 'NRestarts', 'ActiveState', 'WatchdogTimestampMonotonic']);
      assert.deepEqual([later.ActiveState, later.NRestarts, later.MainPID], ['active', '0', first.MainPID]);
      assert.ok(Number(later.WatchdogTimestampMonotonic) > Number(first.WatchdogTimestampMonotonic), 'kuma-dp kept pinging');
    });

    it('restarts a frozen agent', async () => {
      const { agent, envoy } = await pids('watchdog', dir);
      const from = states.samples.length;
      await shellOk(`kill -STOP ${agent}`);
      await states.waitFor('the watchdog to fire', (s) => s.Result === 'watchdog', { from });
      const back = await states.waitFor('active again', (s) => s.ActiveState === 'active' && s.NRestarts === '1', { from });
      assert.notEqual(Number(back.MainPID), agent);
      assert.match(exits(dir).at(-1) ?? '', /^watchdog (killed|dumped) ABRT$/);
      assert.equal(await alive(envoy), false, 'the frozen agent\'s Envoy is gone');
    });

    it('restarts the unit when Envoy freezes', async () => {
      const { envoy } = await pids('watchdog', dir);
      const from = states.samples.length;
      await shellOk(`kill -STOP ${envoy}`);
      await states.waitFor('kuma-dp to see it', (s) => s.StatusText === 'not ready: Envoy is no longer live', { from });
      await states.waitFor('the watchdog to fire', (s) => s.Result === 'watchdog', { from });
      await states.waitFor('active again', (s) => s.ActiveState === 'active' && s.NRestarts === '2', { from });
      await waitUntil(async () => !(await alive(envoy)), 10_000, 'the frozen Envoy to be gone');
      await shellOk(`systemctl stop ${unit('watchdog')}`);
    });
  });

  it('drain on systemctl stop, exit 0, and leave the cgroup empty', async () => {
    const dir = await installInstance('stop');
    await shellOk(`systemctl start ${unit('stop')}`);
    const { ControlGroup: cgroup } = await show(unit('stop'), ['ControlGroup']);
    const members = (await shellOk(`cat '/sys/fs/cgroup/systemd${cgroup}/cgroup.procs'`)).split('\n').filter(Boolean).map(Number);
    const { agent, envoy } = await pids('stop', dir);
    assert.deepEqual([...members].sort(), [agent, envoy].sort(), 'the cgroup holds kuma-dp and Envoy');

    const started = Date.now();
    await shellOk(`systemctl stop ${unit('stop')}`);
    const tookMs = Date.now() - started;
    assert.equal((await show(unit('stop'), ['ActiveState'])).ActiveState, 'inactive');
    assert.deepEqual(exits(dir), ['success exited 0'], 'kuma-dp exited 0 by itself');
    assert.ok(tookMs >= DRAIN_SECONDS * 1000, `Envoy drained for ${DRAIN_SECONDS}s (the stop took ${tookMs}ms)`);
    assert.ok(tookMs < (DRAIN_SECONDS + STOP_TIMEOUT_SECONDS) * 1000, `stopped well within TimeoutStopSec (${tookMs}ms)`);
    const calls = readAdminLog(dir).map((entry) => `${entry.method} ${entry.path}`);
    assert.ok(calls.includes('POST /drain_listeners?graceful&skip_exit'), calls.join(', '));
    assert.deepEqual(readSignalLog(dir).map((entry) => entry.signal), ['SIGTERM']);
    const left = await shell(`cat '/sys/fs/cgroup/systemd${cgroup}/cgroup.procs' 2>/dev/null`);
    assert.equal(left.stdout, '', 'the cgroup is empty (or gone)');
    for (const pid of members) assert.equal(await alive(pid), false);
  });

  it('restart kuma-dp when Envoy crash-loops (exit 1, Restart=on-failure) until the start limit', async () => {
    const dir = await installInstance(
      'crash',
      {
        FAKE_ENVOY_CRASH: 'exit:1',
        FAKE_ENVOY_CRASH_AFTER_MS: '300',
        KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_LIMIT: '2',
        KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_BACKOFF: '100ms',
      },
      // RestartSec=5s as shipped would make this case take half a minute.
      'RestartSec=200ms\n',
    );
    const { StartLimitBurst: burst } = await show(unit('crash'), ['StartLimitBurst']);
    const states = recordUnit(unit('crash'));
    await shell(`systemctl start ${unit('crash')}`);
    const failed = await states.waitFor('the unit to fail', (s) => s.ActiveState === 'failed', { timeoutMs: 120_000 });
    // Nothing to wait for but time: no restart comes after the start limit (RestartSec is 200ms).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    states.stop();
    assert.equal(states.samples.at(-1)!.ActiveState, 'failed', 'it stays failed');
    assert.equal(failed.NRestarts, burst, `systemd restarted it until the start limit (StartLimitBurst=${burst})`);
    const runs = new Set(states.samples.map((s) => s.MainPID).filter((pid) => pid !== '0'));
    assert.equal(runs.size, Number(burst));
    assert.deepEqual(exits(dir), Array.from({ length: Number(burst) }, () => 'exit-code exited 1'), 'each run ended with kuma-dp\'s exit 1');
    assert.equal(readStarts(dir).length, 2 * Number(burst), 'each run gave up after --envoy-restart-limit crashes');
  });

  it('leave no Envoy when kuma-dp alone is killed (KillMode=process here: no help from systemd)', async () => {
    const dir = await installInstance('kill', {}, 'KillMode=process\n');
    await shellOk(`systemctl start ${unit('kill')}`);
    const { agent, envoy } = await pids('kill', dir);
    await shellOk(`systemctl kill --kill-who=main --signal=SIGKILL ${unit('kill')}`);
    await waitUntil(async () => !(await alive(agent)), 10_000, 'kuma-dp to die');
    await waitUntil(async () => !(await alive(envoy)), 5000, 'its Envoy to die with it');
    await shellOk(`systemctl stop ${unit('kill')}`);
  });

  it('start the app unit only after its sidecar is ready, and stop it first', async () => {
    // app-example.service belongs to kuma-dp@ratings-v1, and its stand-in app asks the default readiness port.
    await installInstance('ratings-v1', { KUMA_DATAPLANE_ADMIN_PORT: '9901', KUMA_READINESS_PORT: '9902', FAKE_ENVOY_XDS_DELAY_MS: '1500' });
    await shellOk('systemctl start app-example.service');
    const sidecar = await show(unit('ratings-v1'), ['ActiveState', 'ActiveEnterTimestampMonotonic']);
    const app = await show('app-example.service', ['ActiveState', 'ExecMainStartTimestampMonotonic']);
    assert.deepEqual([sidecar.ActiveState, app.ActiveState], ['active', 'active']);
    assert.ok(Number(app.ExecMainStartTimestampMonotonic) >= Number(sidecar.ActiveEnterTimestampMonotonic), 'the app started after READY=1');

    await shellOk(`systemctl stop ${unit('ratings-v1')}`);
    const sidecarEnd = await show(unit('ratings-v1'), ['ActiveState', 'ActiveExitTimestampMonotonic']);
    const appEnd = await show('app-example.service', ['ActiveState', 'InactiveEnterTimestampMonotonic']);
    assert.deepEqual([sidecarEnd.ActiveState, appEnd.ActiveState], ['inactive', 'inactive'], 'Requires= stopped the app with its sidecar');
    assert.ok(Number(appEnd.InactiveEnterTimestampMonotonic) <= Number(sidecarEnd.ActiveExitTimestampMonotonic), 'the app stopped before its sidecar began to');
    const events = (await shellOk('cat /var/lib/bookinfo/ratings.log'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; sidecar: string });
    assert.deepEqual(
      events.map((e) => `${e.event}: ${e.sidecar}`),
      ['start: 200 READY', 'stop: 200 READY'],
      'the app found its sidecar ready when it started and still ready when it was told to stop',
    );
  });

  it('run a fleet from kuma-dp-fleet.service: active once every dataplane is ready, all drained on stop', async () => {
    const fleet = 'kuma-dp-fleet.service';
    // As the README sets a fleet up: shared settings in fleet.env, one file per dataplane.
    await writeEnvFile('/etc/kuma-dp/fleet.env', {
      KUMA_CONTROL_PLANE_URL: CP_URL,
      KUMA_READINESS_PORT: '9940',
      KUMA_CONTROL_PLANE_RETRY_BACKOFF: '200ms',
      KUMA_DATAPLANE_DRAIN_TIME: `${DRAIN_SECONDS}s`,
      FAKE_ENVOY_RECORD_DIR: '/records/fleet',
      FAKE_ENVOY_XDS_DELAY_MS: '1500',
    });
    await shellOk('mkdir -p /etc/kuma-dp/dataplanes');
    for (const [name, port] of [['fleet-a', 9941], ['fleet-b', 9942]] as const) {
      await shellOk(`cat > /etc/kuma-dp/dataplanes/${name}.yaml`, `name: ${name}\nadmin-port: ${port}\n`);
    }
    const dir = await configureUnit(fleet, 'fleet', '');
    const states = recordUnit(fleet);
    await shellOk(`systemctl start ${fleet}`);
    assert.equal(await cp.probe(9940), '200 READY', "the host's readiness endpoint");
    const { ControlGroup: cgroup } = await show(fleet, ['ControlGroup']);
    const members = (await shellOk(`cat '/sys/fs/cgroup/systemd${cgroup}/cgroup.procs'`)).split('\n').filter(Boolean).map(Number);
    const names = (await cp.requests()).map((r) => r.body.name).filter((name) => String(name).startsWith('fleet-'));
    assert.deepEqual([...names].sort(), ['fleet-a', 'fleet-b']);
    assert.equal(readStarts(dir).length, 2, 'one Envoy per dataplane');
    assert.equal(members.length, 3, 'kuma-dp and two Envoys in the unit');

    // ExecReload= sends SIGHUP (read the directory again), which kuma-dp takes without stopping.
    const { MainPID: mainPid } = await show(fleet, ['MainPID']);
    await shellOk(`systemctl reload ${fleet}`);
    assert.deepEqual(await show(fleet, ['ActiveState', 'MainPID']), { ActiveState: 'active', MainPID: mainPid });

    const started = Date.now();
    await shellOk(`systemctl stop ${fleet}`);
    const tookMs = Date.now() - started;
    states.stop();
    const seen = states.samples;
    const firstActive = seen.findIndex((s) => s.ActiveState === 'active');
    assert.equal(seen[firstActive]?.StatusText, '2 of 2 dataplanes ready', 'active once both are ready');
    assert.ok(seen.slice(0, firstActive).every((s) => s.ActiveState !== 'active'));
    assert.ok(seen.some((s) => s.ActiveState === 'activating' && /^[01] of 2 dataplanes ready$/.test(s.StatusText)), 'activating until then');
    assert.ok(tookMs >= DRAIN_SECONDS * 1000 && tookMs < (DRAIN_SECONDS + STOP_TIMEOUT_SECONDS) * 1000, `both drained at once (${tookMs}ms)`);
    assert.deepEqual(exits(dir), ['success exited 0']);
    const drains = new Set(readAdminLog(dir).filter((e) => e.path.startsWith('/drain_listeners')).map((e) => e.pid));
    assert.equal(drains.size, 2, 'every Envoy drained');
    assert.equal((await shell(`cat '/sys/fs/cgroup/systemd${cgroup}/cgroup.procs' 2>/dev/null`)).stdout, '');
    for (const pid of members) assert.equal(await alive(pid), false);
  });

  it('run kuma-dp and Envoy hardened: read-only system, private /tmp, no home, no new privileges', async () => {
    const dir = await installInstance('hardened');
    await shellOk(`systemctl start ${unit('hardened')}`);
    const { agent, envoy } = await pids('hardened', dir);
    for (const pid of [agent, envoy]) assert.match(await shellOk(`grep NoNewPrivs /proc/${pid}/status`), /^NoNewPrivs:\s+1$/m);
    const [own, other, envoyNs] = (await shellOk(`readlink /proc/${agent}/ns/mnt /proc/1/ns/mnt /proc/${envoy}/ns/mnt`)).trim().split('\n');
    assert.notEqual(own, other, 'the unit has a mount namespace of its own');
    assert.equal(envoyNs, own, 'Envoy shares it');

    assert.match(await shellOk('grep NoNewPrivs /proc/1/status'), /^NoNewPrivs:\s+0$/m, 'the unit set it, not the container');

    // What the service's user may do outside the unit, and inside it (in its mount namespace).
    await shellOk('for d in /etc/probe /usr/local/probe /var/lib/probe; do install -d -o kuma-dp "$d"; done; mkdir -p /home/someone; rm -f /tmp/probe');
    const asUser = 'setpriv --reuid=kuma-dp --regid=kuma-dp --init-groups sh -c';
    const outside = (script: string) => shell(`${asUser} '${script}'`);
    const inside = (script: string) => shell(`nsenter --target ${agent} --mount -- ${asUser} '${script}'`);
    for (const dir of ['/etc/probe', '/usr/local/probe', '/var/lib/probe']) {
      assert.equal((await outside(`touch ${dir}/file`)).code, 0, `kuma-dp may write to ${dir} outside the unit`);
      const write = await inside(`touch ${dir}/file2`);
      assert.match(write.stderr, /Read-only file system/, `but not inside (ProtectSystem=strict): ${dir}`);
    }
    assert.equal((await inside('touch /tmp/probe && test -e /tmp/probe')).code, 0, '/tmp is writable');
    assert.notEqual((await shell('test -e /tmp/probe')).code, 0, 'but private (PrivateTmp=yes)');
    assert.equal((await outside('test -e /home/someone')).code, 0);
    assert.notEqual((await inside('test -e /home/someone')).code, 0, '/home is out of reach (ProtectHome=yes)');
    // LimitNOFILE=1048576 is above this host's hard limit: systemd lowers it to that limit, silently.
    const limit = (pid: number | string) => shellOk(`grep 'Max open files' /proc/${pid}/limits`).then((l) => l.trim().split(/\s+/).slice(3, 5));
    const [soft, hard] = await limit(agent);
    const [, pid1Hard] = await limit(1);
    assert.equal(hard, String(Math.min(1_048_576, Number(pid1Hard))));
    assert.equal(soft, hard);
    await shellOk(`systemctl stop ${unit('hardened')}`);
  });
});

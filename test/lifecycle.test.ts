import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { agentEntry, agentEnv, isAlive, startAgent, tempDir, waitUntil, type Agent } from './helpers/agent.js';
import { buildBootstrap } from '../stand-ins/bootstraps.js';
import { freePort, startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';
import { readAdminLog, readSignalLog, readStarts, type StartRecord } from '../stand-ins/envoy-records.js';
import { fakeEnvoyBin } from '../stand-ins/paths.js';
import { processStartTime } from '../src/process/proc-stat.js';

async function controlPlane(): Promise<ControlPlane> {
  const cp = await startControlPlane({ generation: 'modern' });
  after(() => cp.close());
  return cp;
}

interface Started {
  agent: Agent;
  cp: ControlPlane;
  record: string;
  adminPort: number;
  envoy: () => StartRecord;
}

/** A running agent whose Envoy is live, with fast restart settings unless overridden. */
async function startLive(args: string[] = [], env: Record<string, string> = {}, live = true): Promise<Started> {
  const cp = await controlPlane();
  const record = tempDir();
  const adminPort = await freePort();
  const agent = startAgent(
    ['run', '--admin-port', String(adminPort), '--envoy-restart-backoff', '100ms', '--envoy-restart-max-backoff', '400ms', ...args],
    { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', FAKE_ENVOY_RECORD_DIR: record, ...env }) },
  );
  if (live) await agent.waitFor('envoy-live');
  return { agent, cp, record, adminPort, envoy: () => readStarts(record).at(-1)! };
}

async function admin(port: number, pathAndQuery: string): Promise<void> {
  await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { method: 'POST' }).catch(() => undefined);
}

describe('restart on crash', () => {
  it('restarts an Envoy that exits non-zero, re-fetching the bootstrap, and logs the crash', async () => {
    const { agent, cp, record, adminPort, envoy } = await startLive(['--drain-time', '0s']);
    const first = envoy();
    await admin(adminPort, '/fake/crash?code=3');
    const crash = await agent.waitFor((l) => l.event === 'envoy-crashed');
    assert.equal(crash.level, 50);
    assert.equal(crash.exitCode, 3);
    assert.equal(crash.signal, null);
    assert.equal(crash.envoyPid, first.pid);
    assert.equal(crash.consecutiveCrashes, 1);
    assert.equal(crash.restartInMs, 100);
    assert.equal(typeof crash.uptimeMs, 'number');
    await agent.waitFor((l) => l.event === 'envoy-started' && l.restarts === 1);
    await waitUntil(() => readStarts(record).length === 2);
    assert.notEqual(envoy().pid, first.pid);
    assert.equal(cp.requests.length, 2, 'the bootstrap is fetched again before the restart');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('restarts an Envoy killed by a signal', async () => {
    const { agent, adminPort } = await startLive(['--drain-time', '0s']);
    await admin(adminPort, '/fake/crash?signal=SIGSEGV');
    const crash = await agent.waitFor((l) => l.event === 'envoy-crashed');
    assert.equal(crash.signal, 'SIGSEGV');
    assert.equal(crash.signal, 'SIGSEGV');
    await agent.waitFor((l) => l.event === 'envoy-started' && l.restarts === 1);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('restarts with the last good bootstrap when the control plane is down, and says so', async () => {
    const { agent, cp, adminPort, record } = await startLive(['--drain-time', '0s']);
    cp.setMode('error');
    await admin(adminPort, '/fake/crash?code=1');
    const fallback = await agent.waitFor('bootstrap-fallback');
    assert.match(String(fallback.reason), /500/);
    await waitUntil(() => readStarts(record).length === 2);
    const [first, second] = readStarts(record);
    assert.equal(second!.config, first!.config);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('backs off doubling and gives up after the restart limit, exiting 1 with the last stderr lines', async () => {
    const { agent, record } = await startLive(['--envoy-restart-limit', '4'], { FAKE_ENVOY_CRASH: 'exit:7', FAKE_ENVOY_CRASH_AFTER_MS: '50' }, false);
    const exit = await agent.exited;
    assert.equal(exit.code, 1);
    const crashes = agent.lines.filter((l) => l.event === 'envoy-crashed');
    assert.deepEqual(crashes.map((l) => l.restartInMs), [100, 200, 400]);
    assert.equal(readStarts(record).length, 4);
    // Each restart waits its backoff after the crash (start times themselves vary with the load).
    const spawns = agent.lines.filter((l) => l.event === 'envoy-started').slice(1);
    crashes.forEach((crash, i) => {
      const waited = Date.parse(String(spawns[i]!.time)) - Date.parse(String(crash.time));
      assert.ok(waited >= Number(crash.restartInMs) - 5, `restart ${i + 1} came ${waited}ms after the crash, before its ${crash.restartInMs}ms backoff`);
    });
    const fatal = agent.lines.find((l) => l.level === 60)!;
    assert.equal(fatal.event, 'envoy-crash-loop');
    assert.equal(fatal.consecutiveCrashes, 4);
    assert.equal(fatal.exitCode, 7);
    assert.ok(Array.isArray(fatal.stderrTail) && (fatal.stderrTail as string[]).length > 0);
  });

  it('stops and exits 0 when Envoy exits 0 on its own', async () => {
    const { agent, adminPort, record } = await startLive();
    await admin(adminPort, '/quitquitquit');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    assert.ok(agent.lines.some((l) => l.event === 'envoy-exited'));
    assert.equal(readStarts(record).length, 1, 'no restart');
  });
});

describe('stop', () => {
  it('first SIGTERM drains through the admin API, waits the drain time, then SIGTERMs Envoy', async () => {
    const { agent, record, envoy } = await startLive(['--drain-time', '1s']);
    const pid = envoy().pid;
    const sent = Date.now();
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    const took = Date.now() - sent;
    assert.equal(exit.code, 0);
    assert.ok(took >= 1000 && took < 1000 + 5000 + 500, `stop took ${took}ms`);
    const posts = readAdminLog(record).filter((e) => e.method === 'POST').map((e) => e.path);
    assert.deepEqual(posts, ['/healthcheck/fail', '/drain_listeners?graceful&skip_exit']);
    const term = readSignalLog(record).find((s) => s.pid === pid && s.signal === 'SIGTERM');
    assert.ok(term, 'Envoy got SIGTERM');
    assert.ok(Date.parse(term.time) - sent >= 950, 'only after the drain time');
    assert.ok(!isAlive(pid));
  });

  it('a second signal skips the rest of the drain', async () => {
    const { agent } = await startLive(['--drain-time', '20s']);
    const sent = Date.now();
    agent.kill('SIGTERM');
    await agent.waitFor('stop-begun');
    agent.kill('SIGINT');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - sent < 2000);
    assert.ok(agent.lines.some((l) => l.event === 'drain-skipped'));
  });

  it('SIGKILLs an Envoy that ignores SIGTERM after the stop timeout', async () => {
    const { agent, envoy } = await startLive(['--drain-time', '0s', '--envoy-stop-timeout', '300ms'], { FAKE_ENVOY_IGNORE_SIGTERM: '1' });
    const pid = envoy().pid;
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    assert.ok(agent.lines.some((l) => l.event === 'envoy-killed'));
    assert.ok(agent.lines.some((l) => l.event === 'envoy-stopped' && l.signal === 'SIGKILL'));
    assert.ok(!isAlive(pid));
  });

  it('a third signal kills Envoy and exits 1 at once', async () => {
    const { agent, envoy } = await startLive(['--drain-time', '20s', '--envoy-stop-timeout', '20s'], { FAKE_ENVOY_IGNORE_SIGTERM: '1' });
    const pid = envoy().pid;
    agent.kill('SIGTERM');
    await agent.waitFor('stop-begun');
    agent.kill('SIGTERM');
    await agent.waitFor('drain-skipped');
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 1);
    await waitUntil(() => !isAlive(pid), 2000, 'Envoy to die');
  });

  it('passes SIGUSR1 on to Envoy and logs SIGHUP', async () => {
    const { agent, record, envoy } = await startLive(['--drain-time', '0s']);
    const pid = envoy().pid;
    agent.kill('SIGUSR1');
    await waitUntil(() => readSignalLog(record).some((s) => s.pid === pid && s.signal === 'SIGUSR1'), 3000, 'SIGUSR1 at Envoy');
    agent.kill('SIGHUP');
    await agent.waitFor('signal-ignored');
    assert.ok(!readSignalLog(record).some((s) => s.signal === 'SIGHUP'), 'SIGHUP is not passed on');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

describe('never orphaned', () => {
  it('Envoy dies within 2 s when the agent is SIGKILLed', async () => {
    const { agent, envoy } = await startLive();
    const pid = envoy().pid;
    agent.kill('SIGKILL');
    await agent.exited;
    await waitUntil(() => !isAlive(pid), 2000, `Envoy ${pid} to die with its agent`);
  });

  it("kills a previous agent's leftover Envoy found in the pidfile", async () => {
    const dir = tempDir();
    const adminPort = await freePort();
    const bootstrap = path.join(dir, 'leftover.yaml');
    writeFileSync(bootstrap, buildBootstrap('modern', { adminPort }));
    const leftover = spawn(fakeEnvoyBin, ['--config-path', bootstrap, '--disable-hot-restart'], { stdio: 'ignore', detached: true });
    after(() => {
      if (isAlive(leftover.pid!)) process.kill(leftover.pid!, 'SIGKILL');
    });
    await waitUntil(() => fetch(`http://127.0.0.1:${adminPort}/ready`).then(() => true, () => false), 5000, 'leftover Envoy');
    // What a dead agent wrote once its Envoy was live (src/envoy/pidfile.ts).
    const runtimeDir = tempDir();
    const stateDir = path.join(runtimeDir, 'kuma-dp');
    mkdirSync(stateDir, { mode: 0o700 });
    const pid = leftover.pid!;
    const record = {
      agentPid: 999_999_999,
      agentStartTime: '1',
      pid,
      startTime: processStartTime(pid),
      exe: readlinkSync(`/proc/${pid}/exe`),
      cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1),
    };
    writeFileSync(path.join(stateDir, 'default.ratings-v1.envoy.pid'), JSON.stringify(record), { mode: 0o600 });

    const cp = await controlPlane();
    const agent = startAgent(['run', '--admin-port', String(adminPort), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', XDG_RUNTIME_DIR: runtimeDir }),
    });
    const killed = await agent.waitFor('leftover-killed');
    assert.equal(killed.envoyPid, leftover.pid);
    await agent.waitFor('envoy-live');
    assert.ok(!isAlive(leftover.pid!));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.deepEqual(readdirSync(stateDir), [], 'the pidfile is removed on stop');
  });

  it('runs as PID 1 of a new PID namespace, stops on SIGTERM and leaves no process behind', async (t) => {
    if (process.getuid?.() !== 0) {
      assert.fail('this test needs root for unshare --pid (CI runs as root)');
    }
    const cp = await controlPlane();
    const record = tempDir();
    const adminPort = await freePort();
    const env = agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', FAKE_ENVOY_RECORD_DIR: record });
    const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', agentEntry, 'run', '--admin-port', String(adminPort), '--drain-time', '300ms'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    t.after(() => unshare.kill('SIGKILL'));
    let stderr = '';
    unshare.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => unshare.on('exit', (code) => resolve(code)));
    await waitUntil(() => stderr.includes('"event":"envoy-live"'), 10_000, 'Envoy live under PID 1');
    const envoy = readStarts(record)[0]!;
    assert.equal(envoy.ppid, 1, "Envoy's parent is the agent, PID 1 of the namespace");
    // The agent's pid as seen from here: the child of unshare.
    const children = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1);
    process.kill(children[0]!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /"event":"envoy-stopped"/);
    assert.match(stderr, /"event":"agent-stopped","exitCode":0/);
  });
});

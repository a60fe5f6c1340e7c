// What another user of the host can plant for a root agent: pidfiles naming a victim, symlinks,
// directories others can write, leftovers of killed agents. kuma-dp never signals a process it
// cannot prove it started, and never writes through a link it did not make.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pidfilePath } from '../src/envoy/pidfile.js';
import { processStartTime } from '../src/process/proc-stat.js';
import { buildBootstrap } from '../stand-ins/bootstraps.js';
import { freePort, startControlPlane, type Mode } from '../stand-ins/control-plane.js';
import { readStarts } from '../stand-ins/envoy-records.js';
import { agentEnv, isAlive, runAgent, startAgent, tempDir, waitUntil } from './helpers/agent.js';

const NOBODY = 65534;

async function controlPlane(mode: Mode = 'ok', bootstrap?: string) {
  const cp = await startControlPlane({ generation: 'modern', mode, ...(bootstrap && { bootstrap }) });
  after(() => cp.close());
  return cp;
}

/** A runtime dir whose kuma-dp state dir exists, private, as an earlier agent left it. */
function runtimeDir(): { runtime: string; state: string; pidfile: string } {
  const runtime = tempDir();
  const state = path.join(runtime, 'kuma-dp');
  mkdirSync(state, { mode: 0o700 });
  return { runtime, state, pidfile: path.join(state, 'default.ratings-v1.envoy.pid') };
}

/** A process of someone else's the pidfile will name: the victim. */
function victim(): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
  after(() => {
    if (isAlive(child.pid!)) process.kill(child.pid!, 'SIGKILL');
  });
  return child.pid!;
}

describe('the pidfile', () => {
  it("never makes the agent signal a process that is not provably its dataplane's Envoy", async () => {
    const { runtime, pidfile } = runtimeDir();
    const pid = victim();
    await waitUntil(() => processStartTime(pid) !== undefined, 5000, 'the victim to run');
    // Right pid and start time; but the executable and command line are not an Envoy's of this dataplane.
    writeFileSync(pidfile, JSON.stringify({ agentPid: 999_999_999, agentStartTime: '1', pid, startTime: processStartTime(pid) }), { mode: 0o600 });
    const cp = await controlPlane();
    const agent = startAgent(['run', '--admin-port', String(await freePort()), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', XDG_RUNTIME_DIR: runtime }),
    });
    const unproven = await agent.waitFor('leftover-unproven');
    assert.equal(unproven.pid, pid);
    await agent.waitFor('envoy-live');
    assert.ok(isAlive(pid), 'the victim lives');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.ok(isAlive(pid), 'the victim lives');
  });

  const refusals: Array<{ name: string; plant: (state: string, pidfile: string) => void; message: RegExp }> = [
    {
      name: 'a symlink',
      plant: (state, pidfile) => {
        const target = path.join(state, '..', 'victim-file');
        writeFileSync(target, 'precious\n');
        symlinkSync(target, pidfile);
      },
      message: /^kuma-dp: refusing the pidfile .*default\.ratings-v1\.envoy\.pid: it is a symbolic link; kuma-dp trusts only its own/,
    },
    {
      name: "another user's file",
      plant: (_, pidfile) => {
        writeFileSync(pidfile, '{}', { mode: 0o600 });
        chownSync(pidfile, NOBODY, NOBODY);
      },
      message: /: it belongs to uid 65534, not to kuma-dp's uid 0;/,
    },
    {
      name: 'a file others can write',
      plant: (_, pidfile) => {
        writeFileSync(pidfile, '{}');
        chmodSync(pidfile, 0o666);
      },
      message: /: other users can write to it;/,
    },
  ];
  for (const { name, plant, message } of refusals) {
    it(`is refused when it is ${name}, with one line and nothing started`, async () => {
      const { runtime, state, pidfile } = runtimeDir();
      plant(state, pidfile);
      const cp = await controlPlane();
      const result = await runAgent(['run', '--name', 'ratings-v1'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, XDG_RUNTIME_DIR: runtime }) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      assert.equal(cp.requests.length, 0);
    });
  }

  it('is named inside its directory whatever the names', () => {
    assert.equal(pidfilePath('/run/kuma-dp', '..', 'web'), '/run/kuma-dp/...web.envoy.pid');
    assert.throws(() => pidfilePath('/run/kuma-dp', 'a/../../etc', 'x'), /make no file name in \/run\/kuma-dp/);
  });
});

describe('the state directory', () => {
  const cases: Array<{ name: string; plant: (state: string) => void; message: RegExp }> = [
    {
      name: 'writable by others',
      plant: (state) => {
        mkdirSync(state);
        chmodSync(state, 0o777);
      },
      message: /other users can write to it/,
    },
    {
      name: "another user's",
      plant: (state) => {
        mkdirSync(state, { mode: 0o700 });
        chownSync(state, NOBODY, NOBODY);
      },
      message: /it belongs to uid 65534/,
    },
    { name: 'a symlink', plant: (state) => symlinkSync(tempDir(), state), message: /it is a symbolic link/ },
  ];
  for (const { name, plant, message } of cases) {
    it(`is refused when it is ${name}`, async () => {
      const runtime = tempDir();
      const state = path.join(runtime, 'kuma-dp');
      plant(state);
      const cp = await controlPlane();
      const result = await runAgent(['run', '--name', 'ratings-v1'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, XDG_RUNTIME_DIR: runtime }) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^kuma-dp: refusing the state directory ${state}: ${message.source}`));
      assert.equal(cp.requests.length, 0);
    });
  }

  it('is made private when missing', async () => {
    const runtime = tempDir();
    const cp = await controlPlane();
    const agent = startAgent(['run', '--name', 'ratings-v1', '--admin-port', String(await freePort()), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, XDG_RUNTIME_DIR: runtime }),
    });
    await agent.waitFor('envoy-live');
    const stats = statSync(path.join(runtime, 'kuma-dp'));
    assert.equal(stats.mode & 0o777, 0o700);
    assert.ok(existsSync(path.join(runtime, 'kuma-dp', 'default.ratings-v1.envoy.pid')));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

describe('the work dir', () => {
  it('that others can write: a warning, and the bootstrap never written through a planted symlink', async () => {
    const workDir = tempDir();
    chmodSync(workDir, 0o777);
    const victimFile = path.join(tempDir(), 'victim');
    writeFileSync(victimFile, 'precious\n', { mode: 0o644 });
    // Held back until the links are planted.
    const cp = await controlPlane('not-found');
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'ratings-v1', '--work-dir', workDir, '--admin-port', String(await freePort()), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
    });
    await agent.waitFor('workdir-writable');
    await cp.waitForRequest();
    // Every name an attacker could guess: the bootstrap itself, and its temp file named after the agent's pid.
    symlinkSync(victimFile, path.join(workDir, 'bootstrap.yaml'));
    symlinkSync(victimFile, path.join(workDir, `bootstrap.yaml.${agent.pid}.tmp`));
    cp.setMode('ok');
    await agent.waitFor('envoy-live');
    assert.equal(readFileSync(victimFile, 'utf8'), 'precious\n');
    assert.equal(statSync(victimFile).mode & 0o777, 0o644);
    const bootstrap = lstatSync(path.join(workDir, 'bootstrap.yaml'));
    assert.ok(bootstrap.isFile(), 'the bootstrap is a file of its own');
    assert.equal(bootstrap.mode & 0o777, 0o600);
    assert.equal(readStarts(record)[0]!.configPath, path.join(workDir, 'bootstrap.yaml'));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('left behind by a killed agent is removed by the next one', async () => {
    const cp = await controlPlane();
    const env = agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1' });
    const first = startAgent(['run', '--admin-port', String(await freePort()), '--drain-time', '0s'], { env });
    const started = await first.waitFor('dataplane-starting');
    const left = String(started.workdir);
    await first.waitFor('envoy-live');
    first.kill('SIGKILL');
    await first.exited;
    assert.ok(existsSync(path.join(left, 'bootstrap.yaml')), 'SIGKILL left the work dir, bootstrap and all');
    // Look-alikes that are not a dead agent's: a symlink, and a directory of another user.
    const tmp = env.TMPDIR!;
    const lookalike = path.join(tmp, 'kuma-dp-999999-abcdef');
    symlinkSync(tempDir(), lookalike);
    const foreign = path.join(tmp, 'kuma-dp-999998-abcdef');
    mkdirSync(foreign);
    chownSync(foreign, NOBODY, NOBODY);

    const second = startAgent(['run', '--admin-port', String(await freePort()), '--drain-time', '0s'], { env });
    const removed = await second.waitFor('stale-workdirs-removed');
    assert.deepEqual(removed.dirs, [left]);
    assert.ok(!existsSync(left));
    assert.ok(lstatSync(lookalike).isSymbolicLink() && existsSync(foreign));
    await second.waitFor('envoy-live');
    second.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });
});

describe("the control plane's admin address", () => {
  it('is kept when it is beyond loopback, with a warning', async () => {
    const port = await freePort();
    const cp = await controlPlane('ok', buildBootstrap('modern', { adminHost: '0.0.0.0', adminPort: port }));
    const agent = startAgent(['run', '--name', 'ratings-v1', '--drain-time', '0s'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }) });
    const warning = await agent.waitFor('admin-exposed');
    assert.equal(warning.admin, `0.0.0.0:${port}`);
    await agent.waitFor('envoy-live');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

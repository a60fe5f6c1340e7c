import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { StatusReport } from '../src/agent/status-report.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { agentEntry, agentEnv, envoyWith, isAlive, runAgent, startAgent, tempDir, waitUntil } from './helpers/agent.js';

async function statusOf(port: number): Promise<StatusReport | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as StatusReport;
  } catch {
    return undefined;
  }
}

const answer = async (url: string) => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return `${res.status} ${await res.text()}`;
  } catch {
    return 'down';
  }
};

function dataplaneFile(dir: string, file: string, text: string): string {
  const full = path.join(dir, file);
  writeFileSync(full, text);
  chmodSync(full, 0o644);
  return full;
}

/** An Envoy that crashes 50 ms after every start, for one dataplane of the fleet. */
const crashingEnvoy = (dir: string) => envoyWith(dir, 'crashing', { FAKE_ENVOY_CRASH: 'exit:7', FAKE_ENVOY_CRASH_AFTER_MS: '50' });

describe('fleet mode (--dataplanes-dir)', () => {
  it('runs every dataplane of a directory on its own: a crash loop, a change, a bad file and a removal touch one', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const dir = tempDir('kuma-dp-fleet-');
    const tools = tempDir();
    const [hostPort, apiReadiness, webAdmin, apiAdmin, crashyAdmin, apiAdmin2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    dataplaneFile(dir, 'web.yaml', `name: web\nmesh: demo\nadmin-port: ${webAdmin}\n`);
    dataplaneFile(dir, 'api.yaml', `name: api\nmesh: demo\nadmin-port: ${apiAdmin}\nreadiness-port: ${apiReadiness}\n`);
    dataplaneFile(dir, 'crashy.yaml', `name: crashy\nmesh: demo\nadmin-port: ${crashyAdmin}\nbinary-path: ${crashingEnvoy(tools)}\nenvoy-restart-limit: 2\n`);
    // Started side by side with web.yaml: the files' order decides which one runs the dataplane.
    dataplaneFile(dir, 'zz-web.yaml', `name: web\nmesh: demo\nadmin-port: ${await freePort()}\n`);
    const agent = startAgent(['run', '--dataplanes-dir', dir, '--envoy-restart-backoff', '100ms', '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_READINESS_PORT: String(hostPort), FAKE_ENVOY_RECORD_DIR: tempDir() }),
    });
    const byName = (status: StatusReport | undefined, name: string) => status?.dataplanes.find((d) => d.name === name);

    // The crash loop stops its dataplane only; the host is ready with the others.
    await waitUntil(async () => {
      const status = await statusOf(hostPort);
      return byName(status, 'web')?.state === 'ready' && byName(status, 'api')?.state === 'ready' && byName(status, 'crashy')?.exitCode === 1;
    }, 20_000, 'web and api ready, crashy ended');
    assert.equal(await answer(`http://127.0.0.1:${hostPort}/ready`), '200 READY');
    assert.equal(await answer(`http://127.0.0.1:${hostPort}/ready/demo/web`), '200 READY');
    assert.equal(await answer(`http://127.0.0.1:${hostPort}/ready/demo/crashy`), '503 TERMINATING');
    assert.equal(await answer(`http://127.0.0.1:${apiReadiness}/ready`), '200 READY', "api's own readiness port");
    const webTwin = await agent.waitFor((line) => line.event === 'dataplane-file-rejected' && line.file === 'zz-web.yaml');
    assert.match(webTwin.msg, /zz-web\.yaml: dataplane demo\/web is already run from web\.yaml$/);
    rmSync(path.join(dir, 'zz-web.yaml'));
    const ended = await agent.waitFor('dataplane-ended');
    assert.equal(ended.name, 'crashy');
    assert.equal(ended.exitCode, 1);

    // kuma-dp status: one line per dataplane.
    const table = execFileSync(agentEntry, ['status', '--readiness-port', String(hostPort)], { encoding: 'utf8' });
    const rows = table.trim().split('\n');
    assert.match(rows[0]!, /^MESH\s+NAME\s+STATE\s+ENVOY PID\s+UPTIME\s+RESTARTS\s+LAST EXIT$/);
    assert.equal(rows.length, 4);
    assert.ok(rows.some((row) => /^demo\s+web\s+ready\s+\d+\s+\S+\s+0\s+-$/.test(row)), table);
    assert.ok(rows.some((row) => /^demo\s+crashy\s+ended \(exit 1\)\s+-\s+-\s+1\s+code 7$/.test(row)), table);

    // A changed file restarts its dataplane alone.
    const before = (await statusOf(hostPort))!;
    const webPid = byName(before, 'web')!.envoyPid!;
    const apiPid = byName(before, 'api')!.envoyPid!;
    dataplaneFile(dir, 'api.yaml', `name: api\nmesh: demo\nadmin-port: ${apiAdmin2}\nreadiness-port: ${apiReadiness}\n`);
    await waitUntil(async () => {
      const status = await statusOf(hostPort);
      const apiNow = byName(status, 'api');
      return apiNow?.state === 'ready' && apiNow.envoyPid !== apiPid;
    }, 20_000, 'api restarted');
    assert.equal(isAlive(apiPid), false, "api's old Envoy is gone");
    assert.equal(byName(await statusOf(hostPort), 'web')!.envoyPid, webPid, 'web was not touched');

    // A bad file is one error naming it; the others go on.
    dataplaneFile(dir, 'broken.yaml', 'name: [\n');
    const rejected = await agent.waitFor((line) => line.event === 'dataplane-file-rejected' && line.file === 'broken.yaml');
    assert.equal(rejected.file, 'broken.yaml');
    assert.match(rejected.msg, /broken\.yaml: not valid YAML/);
    assert.equal(await answer(`http://127.0.0.1:${hostPort}/ready`), '200 READY');

    // A second file naming a dataplane that runs is refused; the one that runs it goes on.
    const apiNow = byName(await statusOf(hostPort), 'api')!.envoyPid!;
    dataplaneFile(dir, 'twin.yaml', `name: api\nmesh: demo\nadmin-port: ${await freePort()}\n`);
    const twin = await agent.waitFor((line) => line.event === 'dataplane-file-rejected' && line.file === 'twin.yaml');
    assert.match(twin.msg, /twin\.yaml: dataplane demo\/api is already run from api\.yaml$/);
    assert.equal(byName(await statusOf(hostPort), 'api')!.envoyPid, apiNow);
    rmSync(path.join(dir, 'twin.yaml'));

    // A removed file stops its dataplane alone.
    rmSync(path.join(dir, 'web.yaml'));
    await waitUntil(async () => byName(await statusOf(hostPort), 'web') === undefined, 20_000, 'web removed');
    await waitUntil(() => !isAlive(webPid), 5000, "web's Envoy gone");
    assert.equal(byName(await statusOf(hostPort), 'api')!.state, 'ready');

    // SIGTERM drains all and exits 0, leaving no process behind.
    const apiNowPid = byName(await statusOf(hostPort), 'api')!.envoyPid!;
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.equal(isAlive(apiNowPid), false);
  });

  it('leaves no Envoy behind when the agent is killed with SIGKILL', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const dir = tempDir('kuma-dp-fleet-');
    const hostPort = await freePort();
    for (const name of ['one', 'two']) dataplaneFile(dir, `${name}.yaml`, `name: ${name}\nadmin-port: ${await freePort()}\n`);
    const agent = startAgent(['run', '--dataplanes-dir', dir], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_READINESS_PORT: String(hostPort), FAKE_ENVOY_RECORD_DIR: tempDir() }),
    });
    let pids: number[] = [];
    await waitUntil(async () => {
      const status = await statusOf(hostPort);
      pids = status?.dataplanes.flatMap((d) => (d.state === 'ready' && d.envoyPid ? [d.envoyPid] : [])) ?? [];
      return pids.length === 2;
    }, 20_000, 'both ready');
    agent.kill('SIGKILL');
    await agent.exited;
    await waitUntil(() => pids.every((pid) => !isAlive(pid)), 5000, 'every Envoy gone');
  });

  it('refuses what names one dataplane on the command line, and a directory that is not one', async () => {
    const dir = tempDir('kuma-dp-fleet-');
    const file = dataplaneFile(dir, 'x.yaml', 'name: x\n');
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--name', 'web'], {}, /^kuma-dp: --name names one dataplane; with --dataplanes-dir each file names its own\n$/],
      [[], { KUMA_DATAPLANE_RUNTIME_CONFIG_DIR: dir }, /^kuma-dp: KUMA_DATAPLANE_RUNTIME_CONFIG_DIR names one dataplane/],
      [['--', 'sleep', '10'], {}, /^kuma-dp: an app after -- belongs to one dataplane/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runAgent(['run', '--dataplanes-dir', dir, ...args], { env: agentEnv(env) });
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message);
    }
    const notDir = await runAgent(['run', '--dataplanes-dir', file], { env: agentEnv() });
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /^kuma-dp: invalid --dataplanes-dir .*x\.yaml: not a directory\n$/);
  });
});

describe('dataplane files', () => {
  it('reads kuma-dp run flags, resolves paths from the file, and refuses what it must not trust', async () => {
    const { readDataplaneFile } = await import('../src/fleet/files.js');
    const { symlinkSync } = await import('node:fs');
    const dir = tempDir('kuma-dp-files-');
    const file = dataplaneFile(dir, 'web.yaml', 'name: web\nadmin-port: 9911\ndataplane-token-file: tokens/web\nwork-dir: run/web\napp: [./bin/web, --port, 8080]\ndataplane-var: [a=1, b=2]\n');
    const { flags, hash } = readDataplaneFile(file);
    assert.deepEqual(flags, {
      name: 'web',
      'admin-port': '9911',
      'dataplane-token-file': path.join(dir, 'tokens/web'),
      'config-dir': path.join(dir, 'run/web'),
      '--': [path.join(dir, 'bin/web'), '--port', '8080'],
      'dataplane-var': ['a=1', 'b=2'],
    });
    assert.match(hash, /^[0-9a-f]{64}$/);
    const template = dataplaneFile(dir, 'ratings.yaml', 'type: Dataplane\nmesh: demo\nname: ratings\n');
    assert.deepEqual(readDataplaneFile(template).flags, { dataplane: 'type: Dataplane\nmesh: demo\nname: ratings\n' });

    const refused: Array<[string, RegExp]> = [];
    symlinkSync(file, path.join(dir, 'link.yaml'));
    refused.push([path.join(dir, 'link.yaml'), /a symlink/]);
    const open = dataplaneFile(dir, 'open.yaml', 'name: open\n');
    chmodSync(open, 0o666);
    refused.push([open, /writable by other users \(mode 666\)/]);
    refused.push([dataplaneFile(dir, 'typo.yaml', 'name: x\nadmin-prot: 1\n'), /unknown setting "admin-prot"/]);
    refused.push([dataplaneFile(dir, 'agent.yaml', 'name: x\nlog-level: debug\n'), /log-level is set for the whole agent/]);
    refused.push([dataplaneFile(dir, 'anon.yaml', 'mesh: demo\n'), /names no dataplane/]);
    refused.push([dataplaneFile(dir, 'app.yaml', 'name: x\napp: web\n'), /app must be a list/]);
    refused.push([dataplaneFile(dir, 'big.yaml', `name: x\n#${'x'.repeat(1024 * 1024)}\n`), /at most 1048576/]);
    for (const [path_, message] of refused) assert.throws(() => readDataplaneFile(path_), message, path_);
  });
});

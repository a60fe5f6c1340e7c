// What a broken or odd Envoy (or a wrapper script around it) and a local user flooding the
// readiness port can do to the agent: none of it may hang a stop, hide an exit or crash the agent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_LINE_BYTES } from '../src/process/child.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { readStarts } from '../stand-ins/envoy-records.js';
import { fakeEnvoyBin } from '../stand-ins/paths.js';
import { agentEnv, isAlive, startAgent, tempDir, waitUntil } from './helpers/agent.js';

/** An `envoy` that is a shell script around the fake one. */
function wrapper(body: string): string {
  const file = path.join(tempDir(), 'envoy');
  writeFileSync(file, `#!/bin/sh\n${body.replaceAll('$ENVOY', `"${fakeEnvoyBin}"`)}\n`, { mode: 0o755 });
  return file;
}

async function start(binary: string, extraArgs: string[] = [], extraEnv: Record<string, string> = {}) {
  const cp = await startControlPlane({ generation: 'modern' });
  after(() => cp.close());
  const record = tempDir();
  const adminPort = await freePort();
  const agent = startAgent(
    ['run', '--binary-path', binary, '--admin-port', String(adminPort), '--drain-time', '0s', '--envoy-restart-backoff', '100ms', ...extraArgs],
    { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', FAKE_ENVOY_RECORD_DIR: record, ...extraEnv }) },
  );
  await agent.waitFor('envoy-live', 15_000);
  return { agent, record, adminPort };
}

function crash(adminPort: number): Promise<unknown> {
  return fetch(`http://127.0.0.1:${adminPort}/fake/crash?code=3`, { method: 'POST' }).catch(() => undefined);
}

describe('a wrapper script around Envoy', () => {
  it('that does not exec: a stop reaches Envoy through the process group and finishes', async () => {
    const { agent, record } = await start(wrapper('$ENVOY "$@"\necho "wrapper done"'), ['--envoy-stop-timeout', '30s']);
    const envoy = readStarts(record)[0]!;
    assert.notEqual(envoy.pid, agent.lines.find((l) => l.event === 'envoy-started')!.envoyPid, 'Envoy runs under the wrapper');
    agent.kill('SIGTERM');
    // Well within the 30 s stop timeout: the SIGTERM itself reached Envoy.
    const exit = await Promise.race([agent.exited, new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000))]);
    assert.deepEqual(exit, { code: 0, signal: null });
    await waitUntil(() => !isAlive(envoy.pid), 5000, 'the wrapped Envoy to be gone');
  });

  it('that leaves a child holding the pipes: an Envoy crash is still seen and Envoy restarted', async () => {
    const pids = path.join(tempDir(), 'stragglers');
    const { agent, record, adminPort } = await start(wrapper(`sleep 600 &\necho $! >> ${pids}\nexec $ENVOY "$@"`));
    await crash(adminPort);
    await agent.waitFor((l) => l.event === 'envoy-started' && l.restarts === 1, 15_000);
    await waitUntil(() => readStarts(record).length === 2, 5000, 'a second Envoy');
    // The stragglers of the crashed Envoy's group (and of the --version probe's) are killed.
    const stragglers = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.equal(stragglers.length, 3, 'one per run of the wrapper: --version, first Envoy, second Envoy');
    for (const pid of stragglers.slice(0, 2)) await waitUntil(() => !isAlive(pid), 5000, `straggler ${pid} to be killed`);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    await waitUntil(() => !isAlive(stragglers[2]!), 5000, 'the last straggler to be killed with its Envoy');
  });
});

describe("Envoy's output", () => {
  it(`is relayed in lines of at most ${MAX_LINE_BYTES} bytes, marked where cut`, async () => {
    const { agent } = await start(wrapper(`head -c 5000000 /dev/zero | tr '\\0' x >&2; echo >&2\nexec $ENVOY "$@"`));
    const cut = agent.lines.filter((l) => l.source === 'envoy' && String(l.msg).startsWith('xxx'));
    assert.equal(cut.length, 1);
    assert.equal(cut[0]!.msg, `${'x'.repeat(MAX_LINE_BYTES)}… [line cut at ${MAX_LINE_BYTES} bytes]`);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

describe('a flood of connections to the readiness port', () => {
  it('cannot use up the descriptors the agent needs to restart Envoy', async () => {
    const readinessPort = await freePort();
    const { agent, record, adminPort } = await start(fakeEnvoyBin, [], { KUMA_READINESS_PORT: String(readinessPort) });
    // A limit the agent's own descriptors fit well within, as a host's 1,024 fits a normal agent.
    execFileSync('prlimit', ['--pid', String(agent.pid), '--nofile=128:128']);
    const open = readdirSync(`/proc/${agent.pid}/fd`).length;
    assert.ok(open < 80, `the agent holds ${open} descriptors`);
    const sockets: Socket[] = [];
    after(() => sockets.forEach((s) => s.destroy()));
    for (let i = 0; i < 500; i++) sockets.push(connect(readinessPort, '127.0.0.1').on('error', () => {}));
    await waitUntil(() => sockets.every((s) => !s.connecting), 10_000, 'the flood to connect');
    await crash(adminPort);
    await agent.waitFor((l) => l.event === 'envoy-started' && l.restarts === 1, 15_000);
    await waitUntil(() => readStarts(record).length === 2, 5000, 'a second Envoy');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

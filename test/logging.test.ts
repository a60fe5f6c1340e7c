import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { agentEntry, agentEnv, waitUntil } from './helpers/agent.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';

/** Runs the agent with a terminal as its stderr (util-linux script allocates a pty). */
function inTerminal(args: string[], env: Record<string, string>) {
  const command = [agentEntry, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'dumb' }, stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

describe('logs', () => {
  it('are human-readable when stderr is a terminal', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const adminPort = await freePort();
    const run = inTerminal(['run', '--admin-port', String(adminPort), '--name', 'ratings-v1'], agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }));
    await waitUntil(() => run.output().includes('event: "envoy-live"'), 10_000, 'Envoy live');
    await fetch(`http://127.0.0.1:${adminPort}/quitquitquit`, { method: 'POST' });
    assert.equal(await run.exited, 0);
    const lines = run.output().split(/\r?\n/);
    const started = lines.findIndex((line) => line.includes('event: "envoy-started"'));
    assert.ok(started > 0, 'the event is a field under its line');
    const header = lines.slice(0, started).reverse().find((line) => /^\[[^\]]+\] [A-Z]+/.test(line));
    assert.match(header!, /^\[[^\]]+\] INFO/);
    assert.throws(() => JSON.parse(header!), 'not JSON in a terminal');
    assert.match(run.output(), /envoyPid: \d+/);
  });
});

// The process layer the supervisor stands on: exits seen from the process, not its pipes; signals
// that reach the whole process group; bounded lines; spawn failures as rejections.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MAX_LINE_BYTES, spawnChild } from '../src/process/child.js';
import { repoRoot } from '../stand-ins/paths.js';
import { isAlive, waitUntil } from './helpers/agent.js';

const env = { PATH: process.env.PATH };

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('spawnChild', () => {
  it('sees the exit of a process whose child keeps its pipes open, and ends that child', async () => {
    const lines: string[] = [];
    // The background sleep inherits stdout and stderr and outlives the shell.
    const child = await spawnChild({ binary: '/bin/sh', args: ['-c', 'sleep 60 & echo $!; exit 3'], env, onLine: (line) => lines.push(line) });
    const exit = await within(child.exited, 10_000, 'the exit');
    assert.equal(exit.code, 3);
    const straggler = Number(lines[0]);
    assert.ok(straggler > 1, `the sleep's pid was printed: ${lines.join('|')}`);
    await waitUntil(() => !isAlive(straggler), 5000, 'the straggler of the group to die');
  });

  it('signals the whole process group: a wrapper that does not exec stops with what it runs', async () => {
    const child = await spawnChild({ binary: '/bin/sh', args: ['-c', 'sleep 60; echo after'], env, onLine: () => {} });
    await waitUntil(() => childrenOf(child.pid).length === 1, 5000, 'the wrapper to start its child');
    const [grandchild] = childrenOf(child.pid);
    child.kill('SIGTERM');
    const exit = await within(child.exited, 10_000, 'the stop');
    assert.equal(exit.signal, 'SIGTERM');
    await waitUntil(() => !isAlive(grandchild!), 5000, 'the wrapped process to stop');
  });

  it(`cuts a line longer than ${MAX_LINE_BYTES} bytes and marks the cut`, async () => {
    const lines: string[] = [];
    const child = await spawnChild({
      binary: '/bin/sh',
      args: ['-c', `head -c ${4 * MAX_LINE_BYTES} /dev/zero | tr '\\0' x; echo; printf 'é%.0s' $(seq 1 ${MAX_LINE_BYTES}); echo; echo next`],
      env,
      onLine: (line) => lines.push(line),
    });
    await within(child.exited, 10_000, 'the exit');
    assert.equal(lines.length, 3, lines.map((l) => l.slice(0, 40)).join('|'));
    assert.equal(lines[0], `${'x'.repeat(MAX_LINE_BYTES)}… [line cut at ${MAX_LINE_BYTES} bytes]`);
    // Cut on a byte count, never in the middle of a character.
    assert.match(lines[1]!, /^é+… \[line cut at \d+ bytes\]$/);
    assert.ok(!lines[1]!.includes('\ufffd'));
    assert.equal(lines[2], 'next');
  });

  it('keeps a line of exactly the limit whole', async () => {
    const lines: string[] = [];
    const child = await spawnChild({ binary: '/bin/sh', args: ['-c', `head -c ${MAX_LINE_BYTES} /dev/zero | tr '\\0' y; echo`], env, onLine: (line) => lines.push(line) });
    await within(child.exited, 10_000, 'the exit');
    assert.deepEqual(lines, ['y'.repeat(MAX_LINE_BYTES)]);
  });

  it('rejects when the program cannot be started', async () => {
    await assert.rejects(spawnChild({ binary: '/nonexistent/envoy', args: [], env, onLine: () => {} }), /could not start \/nonexistent\/envoy: ENOENT/);
  });

  it('rejects, and does not crash the process, when no file descriptor is left for the pipes', () => {
    // A separate Node with a low descriptor limit that uses them all up before spawning.
    const script = `
      const { openSync } = require('node:fs');
      import(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'process', 'child.js'))}).then(async ({ spawnChild }) => {
        const held = [];
        try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
        try {
          await spawnChild({ binary: '/bin/true', args: [], env: {}, onLine: () => {} });
          console.log('spawned');
        } catch (error) {
          console.log('rejected: ' + error.message);
        }
      });`;
    const result = spawnSync('prlimit', ['--nofile=64', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^rejected: could not start \/bin\/true: E[MN]FILE\n$/);
  });
});

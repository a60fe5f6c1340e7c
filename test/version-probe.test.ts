import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { inspectBinary } from '../src/envoy/binary.js';
import { isAlive, tempDir, waitUntil } from './helpers/agent.js';

describe('envoy --version probe', () => {
  it('kills a probe that hangs, ignores SIGTERM and leaves a child on its pipes, and fails with one line', async () => {
    const dir = tempDir();
    const binary = path.join(dir, 'envoy');
    const pids = path.join(dir, 'pids');
    writeFileSync(binary, `#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho "$$ $!" > ${pids}\nsleep 60\n`, { mode: 0o755 });
    const started = Date.now();
    const error = await inspectBinary(binary, 500).then(
      () => assert.fail('the probe succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, /^invalid --binary-path ".*envoy": `--version` .*no answer within 0\.5s/);
    assert.ok(!error.message.includes('\n'));
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    for (const pid of readFileSync(pids, 'utf8').trim().split(' ').map(Number)) {
      await waitUntil(() => !isAlive(pid), 5000, `probe process ${pid} to be gone`);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cgroupMemoryLimit } from '../src/system/memory-limit.js';
import { tempDir } from './helpers/agent.js';

/** A fake /sys/fs/cgroup plus /proc/self/cgroup: files maps paths under the root to contents. */
function fakeCgroups(membership: string, files: Record<string, string>): { root: string; selfCgroup: string } {
  const dir = tempDir('cgroup-test-');
  const root = path.join(dir, 'cgroup');
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  mkdirSync(root, { recursive: true });
  const selfCgroup = path.join(dir, 'self-cgroup');
  writeFileSync(selfCgroup, membership);
  return { root, selfCgroup };
}

describe('cgroup memory limit', () => {
  it('v2: reads memory.max of the own cgroup, taking the tightest ancestor', () => {
    const paths = fakeCgroups('0::/system.slice/kuma-dp.service\n', {
      'memory.max': 'max\n',
      'system.slice/memory.max': '1073741824\n',
      'system.slice/kuma-dp.service/memory.max': '2147483648\n',
    });
    assert.equal(cgroupMemoryLimit(paths), 1073741824);
  });

  it('v2: "max" everywhere means no limit', () => {
    const paths = fakeCgroups('0::/user.slice\n', { 'memory.max': 'max\n', 'user.slice/memory.max': 'max\n' });
    assert.equal(cgroupMemoryLimit(paths), undefined);
  });

  it('v2 in a container: the mount root is the own cgroup when the listed path is not there', () => {
    assert.equal(cgroupMemoryLimit(fakeCgroups('0::/\n', { 'memory.max': '536870912\n' })), 536870912);
    assert.equal(cgroupMemoryLimit(fakeCgroups('0::/../../kubepods/pod1\n', { 'memory.max': '268435456\n' })), 268435456);
  });

  it('v1: reads memory.limit_in_bytes of the memory hierarchy, ignoring the "unlimited" sentinel', () => {
    const membership = '12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n';
    assert.equal(cgroupMemoryLimit(fakeCgroups(membership, { 'memory/docker/abc/memory.limit_in_bytes': '314572800\n' })), 314572800);
    assert.equal(cgroupMemoryLimit(fakeCgroups(membership, { 'memory/memory.limit_in_bytes': '9223372036854771712\n' })), undefined);
  });

  it('gives no limit when there are no cgroups to read', () => {
    assert.equal(cgroupMemoryLimit({ root: '/nonexistent', selfCgroup: '/nonexistent/cgroup' }), undefined);
    assert.equal(cgroupMemoryLimit(fakeCgroups('0::/\n', {})), undefined);
  });
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { agentEntry, agentEnv, standInBin, tempDir, waitUntil } from './helpers/agent.js';
import { readinessAnswer } from './helpers/readiness.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { repoRoot } from '../stand-ins/paths.js';

const dockerfile = readFileSync(path.join(repoRoot, 'templates', 'Dockerfile'), 'utf8');
const entrypoint = path.join(repoRoot, 'templates', 'docker-entrypoint.sh');

/** The image's PATH, with this build of kuma-dp and the fake Envoy standing in for the real ones. */
function imagePath(): string {
  const bin = tempDir();
  writeFileSync(path.join(bin, 'kuma-dp'), `#!/bin/sh\nexec "${process.execPath}" "${agentEntry}" "$@"\n`, { mode: 0o755 });
  return `${bin}${path.delimiter}${standInBin}${path.delimiter}${process.env.PATH ?? ''}`;
}

function runEntrypoint(args: string[], env: Record<string, string>) {
  // dash, not bash: the image's /bin/sh is a plain POSIX shell.
  return spawnSync('dash', [entrypoint, ...args], { env, encoding: 'utf8', timeout: 10_000 });
}

describe('templates/Dockerfile', () => {
  it('copies only files that exist, runs as non-root under tini, and health-checks with kuma-dp wait', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    assert.ok(sources.length > 0);
    for (const source of sources) assert.ok(existsSync(path.join(repoRoot, source)), `COPY ${source} exists in the build context`);
    assert.match(dockerfile, /^FROM envoyproxy\/envoy|^ARG ENVOY_IMAGE=envoyproxy\/envoy:v\d+\.\d+\.\d+$/m);
    assert.match(dockerfile, /^COPY --from=envoy \/usr\/local\/bin\/envoy \/usr\/local\/bin\/envoy$/m);
    const bin = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['kuma-dp'];
    assert.match(dockerfile, new RegExp(`^RUN ln -s /opt/kuma-dp/${bin} /usr/local/bin/kuma-dp`, 'm'), 'kuma-dp on PATH is the package bin');
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/docker-entrypoint\.sh"\]$/m);
    const user = dockerfile.match(/^USER (.+)$/m)?.[1];
    assert.ok(user && !/^(0|root)(:|$)/.test(user), `USER ${user} is not root`);
    const readinessPort = dockerfile.match(/^ENV KUMA_READINESS_PORT=(\d+)$/m)?.[1];
    assert.match(dockerfile, new RegExp(`^  CMD \\["kuma-dp", "wait", .*"http://127\\.0\\.0\\.1:${readinessPort}/ready"\\]$`, 'm'));
  });
});

describe('templates/docker-entrypoint.sh', () => {
  it('is POSIX sh', () => {
    const check = spawnSync('dash', ['-n', entrypoint], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('passes kuma-dp commands through, and runs anything else as is', () => {
    const env = agentEnv({ PATH: imagePath() });
    const version = runEntrypoint(['version'], env);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^kuma-dp-node: \d+\.\d+\.\d+\n$/);
    const other = runEntrypoint(['echo', 'a debugging shell'], env);
    assert.equal(other.stdout, 'a debugging shell\n');
    const badFlag = runEntrypoint(['--readiness-port', 'x'], env);
    assert.equal(badFlag.status, 1);
    assert.equal(badFlag.stderr, 'kuma-dp: invalid --readiness-port "x": expected a port number from 1 to 65535\n', 'flags alone mean kuma-dp run');
  });

  it('runs the dataplane named after the hostname by default, ready on its port, and stops it on SIGTERM', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const readinessPort = await freePort();
    const env = agentEnv({
      PATH: imagePath(),
      KUMA_CONTROL_PLANE_URL: cp.url,
      KUMA_READINESS_PORT: String(readinessPort),
      KUMA_DATAPLANE_ADMIN_PORT: String(await freePort()),
      KUMA_DATAPLANE_DRAIN_TIME: '0s',
      KUMA_DATAPLANE_RUNTIME_CONFIG_DIR: tempDir(),
    });
    const child = spawn('dash', [entrypoint], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    after(() => child.kill('SIGKILL'));

    const request = await cp.waitForRequest();
    assert.equal((request.body as { name: string }).name, os.hostname());
    await waitUntil(async () => (await readinessAnswer(readinessPort)) === '200 READY', 10_000, 'ready');
    // The shell exec'd kuma-dp: the signal tini would forward reaches the agent itself.
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});

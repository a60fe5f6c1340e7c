// `npm run test:runtime`: the container image under a real podman and the units under a real
// systemd. Checks the machine (root, Debian), installs what is missing, builds the images in a
// private podman store, runs test-runtime/*.test.js, and removes every container, image and
// directory it made. On a machine that cannot run it, it says why in one line and exits 0; under
// CI (CI=true) that is a failure instead.
//
// KUMA_DP_RUNTIME_DIR=<dir> keeps the store in <dir> and reuses its base image, for iterating on
// the tests; removing <dir> is then up to you (`podman system reset` with its configuration first).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureEngine, podman, runCommand, SESSION_VARIABLE, writeSession } from './engine.js';
import { buildImages } from './setup/images.js';
import { installMissingPackages, missingRequirement } from './setup/host.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stdout.write(`test:runtime: ${line}\n`);

/** Unmounts what podman or debootstrap left mounted under dir, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await runCommand('umount', ['-l', point]);
}

async function cleanUp(engine: Record<string, string>, workDir: string, keep: boolean): Promise<void> {
  await podman(engine, ['rm', '--all', '--force', '--time', '0']);
  if (keep) return;
  await podman(engine, ['system', 'reset', '--force'], { timeoutMs: 300_000 });
  await unmountUnder(workDir);
  rmSync(workDir, { recursive: true, force: true });
}

function runTests(env: NodeJS.ProcessEnv, files: string[]): Promise<number> {
  // The two files share nothing (each has its own containers and network namespace): run them side by side.
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], { env, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

async function main(): Promise<number> {
  const missing = missingRequirement();
  if (missing) {
    if (process.env.CI === 'true') {
      process.stderr.write(`test:runtime: cannot run under CI: ${missing}\n`);
      return 1;
    }
    log(`skipped: ${missing}`);
    return 0;
  }
  const started = Date.now();
  await installMissingPackages(log);

  const kept = process.env.KUMA_DP_RUNTIME_DIR;
  const workDir = kept ? path.resolve(kept) : mkdtempSync(path.join(os.tmpdir(), 'kuma-dp-test-runtime-'));
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const engine = configureEngine(workDir);
  // A stop request during the set-up still cleans up (the tests' own runner handles it after).
  let interrupted = false;
  const interrupt = () => void (interrupted = true);
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const images = await buildImages(engine, workDir, log);
    if (interrupted) return 130;
    const session = writeSession({ env: engine, images, workDir });
    const requested = process.argv.slice(2);
    const files = requested.length > 0 ? requested : readdirSync(here).filter((f) => f.endsWith('.test.js')).map((f) => path.join(here, f));
    log(`images ready after ${((Date.now() - started) / 1000).toFixed(0)}s; running ${files.map((f) => path.basename(f)).join(', ')}`);
    return await runTests({ ...process.env, [SESSION_VARIABLE]: session }, files);
  } finally {
    await cleanUp(engine, workDir, kept !== undefined);
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)}s${kept ? `; store kept in ${workDir}` : ', everything it made removed'}`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`test:runtime: ${error.message}\n`);
    process.exit(1);
  },
);

import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../stand-ins/paths.js';
import { exited, spawnTracked } from './processes.js';

/** The bare Node process the agent is compared with: same node binary, nothing loaded. */
const IDLE_SCRIPT = 'setInterval(() => {}, 1 << 30)';

/** Exec to exit of `node -e 0`, in ms. */
export async function bareStartMs(): Promise<number> {
  const started = Date.now();
  const child = spawnTracked(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const { at } = await exited(child);
  return at - started;
}

/** `count` bare `node -e 0` started at once: ms until the last one exited. */
export async function bareStartAllMs(count: number): Promise<number> {
  const started = Date.now();
  const children = Array.from({ length: count }, () => spawnTracked(process.execPath, ['-e', '0'], { stdio: 'ignore' }));
  const ends = await Promise.all(children.map((child) => exited(child)));
  return Math.max(...ends.map((end) => end.at)) - started;
}

/** A bare Node process that only waits: the memory and CPU baseline. */
export function bareIdle(): ChildProcess {
  return spawnTracked(process.execPath, ['-e', IDLE_SCRIPT], { stdio: 'ignore' });
}

/**
 * Exec to exit of the stand-in's `envoy --version`. The fake Envoy is a Node script, so this is a
 * Node start (plus the fake's imports), paid inside figure 1; a real Envoy answers much faster.
 */
export async function fakeEnvoyVersionMs(): Promise<number> {
  const started = Date.now();
  const child = spawnTracked(path.join(repoRoot, 'stand-ins', 'bin', 'envoy'), ['--version'], { stdio: 'ignore' });
  const { at, code } = await exited(child);
  if (code !== 0) throw new Error(`fake envoy --version exited with ${code}`);
  return at - started;
}

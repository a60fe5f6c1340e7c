import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Walks up from this file (src or dist) to the directory holding kuma-dp's package.json.
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kuma-dp') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('stand-ins: cannot find the kuma-dp repository root');
    dir = parent;
  }
}

export const repoRoot = findRepoRoot();
export const fakeEnvoyBin = join(repoRoot, 'stand-ins', 'bin', 'envoy');
/** The fake Envoy as one file, which fakeEnvoyBin runs (built by scripts/bundle.ts). */
export const fakeEnvoyBundle = join(repoRoot, 'dist', 'stand-ins', 'envoy.mjs');

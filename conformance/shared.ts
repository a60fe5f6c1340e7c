// The conformance run compares the agent with Kuma's own test data, which lives beside the
// project in ../shared (never copied in). `npm test` does not need it; `npm run test:conformance` does.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../stand-ins/paths.js';

export const sharedDir = resolve(process.env.KUMA_DP_SHARED_DIR ?? join(repoRoot, '..', 'shared'));
export const kumaFixtures = join(sharedDir, 'kuma-fixtures');
export const kumaBootstraps = join(sharedDir, 'testdata', 'kuma-cp');

/** Stops the run with one clear line when a directory of ../shared is missing. */
function required(dir: string, what: string): string {
  if (!existsSync(dir)) {
    process.stderr.write(
      `conformance: ${dir} is missing. The conformance run needs ${what} in ${dir.slice(sharedDir.length + 1)} of ../shared ` +
        `(or KUMA_DP_SHARED_DIR pointing at the directory that holds it)\n`,
    );
    process.exit(2);
  }
  return dir;
}

/** A path under ../shared/kuma-fixtures. */
export function fixture(...parts: string[]): string {
  return join(required(kumaFixtures, "Kuma's fixtures"), ...parts);
}

/** A real kuma-cp bootstrap under ../shared/testdata/kuma-cp (see its README.md). */
export function kumaBootstrap(file: 'modern-bootstrap.yaml' | 'v0.2-bootstrap.yaml'): string {
  return join(required(kumaBootstraps, "kuma-cp's golden bootstraps"), file);
}

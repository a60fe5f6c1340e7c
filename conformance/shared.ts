// The conformance run compares the agent with Kuma's own test data, which lives beside the
// project in ../shared (never copied in). `npm test` does not need it; `npm run test:conformance` does.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../stand-ins/paths.js';

export const sharedDir = resolve(process.env.KUMA_DP_SHARED_DIR ?? join(repoRoot, '..', 'shared'));
export const kumaFixtures = join(sharedDir, 'kuma-fixtures');

/** A path under ../shared/kuma-fixtures; stops the run with one clear line when the directory is missing. */
export function fixture(...parts: string[]): string {
  if (!existsSync(kumaFixtures)) {
    process.stderr.write(
      `conformance: ${kumaFixtures} is missing. The conformance run needs Kuma's fixtures in ../shared/kuma-fixtures ` +
        '(or KUMA_DP_SHARED_DIR pointing at the directory that holds kuma-fixtures/)\n',
    );
    process.exit(2);
  }
  return join(kumaFixtures, ...parts);
}

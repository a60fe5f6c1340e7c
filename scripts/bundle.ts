// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/kuma-dp.mjs, which is
// package.json's `bin`, and the chunks it loads. Loading some 150 ESM files (ours, yargs,
// execa, yaml, pino) cost the agent more at start than everything else it does before spawning
// Envoy; a few minified files halve that (see `npm run bench`). Run by `npm run build` after tsc.
//
// Split at the CLI's dynamic imports: `version`, `wait` and --help do not compile what `run`
// needs, and `run` loads its heavy part while `envoy --version` runs (src/cli/run.ts).
//
// The bundle sits two levels below the package root, as dist/src/cli/main.js' modules do, so that
// src/version.ts' `../../package.json` still resolves; so do the chunks, next to the entry.
// pino-pretty stays outside: it is loaded only for terminals, at run time, from node_modules.
//
// The stand-in Envoy is bundled too (dist/stand-ins/envoy.mjs, which stand-ins/bin/envoy runs and
// the runtime checks' Envoy image holds): loading the 72 CommonJS files of yaml cost every fake
// Envoy a third of its start, which the bench's many-dataplane figures counted against the agent.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { fakeEnvoyBundle } from '../stand-ins/paths.js';
import { lazyStringWidth } from './lazy-string-width.js';
import { REQUIRE_BANNER } from './require-banner.js';

// This file runs as dist/scripts/bundle.js.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const bundleDir = path.join(repoRoot, 'dist', 'bundle');
export const bundlePath = path.join(bundleDir, 'kuma-dp.mjs');

// What `kuma-dp version --detailed` and the bootstrap request report (src/version.ts), as Go
// kuma-dp's build stamps them; "unknown" outside a git checkout. SOURCE_DATE_EPOCH keeps a
// rebuild byte-identical.
function buildStamp(): { gitCommit: string; buildDate: string } {
  let gitCommit = 'unknown';
  try {
    gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout (e.g. a source tarball)
  }
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const date = epoch === undefined ? new Date() : new Date(Number(epoch) * 1000);
  return { gitCommit, buildDate: date.toISOString().replace(/\.\d+Z$/, 'Z') };
}

// Chunks of an earlier build would otherwise pile up (their names carry a content hash).
rmSync(bundleDir, { recursive: true, force: true });
await build({
  entryPoints: { 'kuma-dp': path.join(repoRoot, 'dist', 'src', 'cli', 'main.js') },
  outdir: bundleDir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'kuma-dp-[name]-[hash]',
  splitting: true,
  bundle: true,
  minify: true,
  // Stack traces in bug reports should still name our functions.
  keepNames: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['pino-pretty'],
  define: { __KUMA_DP_BUILD__: JSON.stringify(buildStamp()) },
  banner: { js: REQUIRE_BANNER },
  plugins: [lazyStringWidth(repoRoot)],
  logLevel: 'warning',
});
chmodSync(bundlePath, 0o755);

await build({
  entryPoints: [path.join(repoRoot, 'dist', 'stand-ins', 'fake-envoy.js')],
  outfile: fakeEnvoyBundle,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Executable on its own: the image copies it as /usr/local/bin/envoy.
  banner: { js: `#!/usr/bin/env node\n${REQUIRE_BANNER}` },
  logLevel: 'warning',
});
chmodSync(fakeEnvoyBundle, 0o755);

// Bundles the compiled CLI (dist/src/cli/main.js) into one file, dist/bundle/kuma-dp.mjs, which is
// package.json's `bin`. Loading some 150 ESM files (ours, yargs, undici, execa, yaml, pino) cost
// the agent more at start than everything else it does before spawning Envoy; one minified file
// halves that (see `npm run bench`). Run by `npm run build` after tsc.
//
// The bundle sits two levels below the package root, as dist/src/cli/main.js' modules do, so that
// src/version.ts' `../../package.json` still resolves. pino-pretty stays outside: it is loaded only
// for terminals, at run time, from node_modules.
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// This file runs as dist/scripts/bundle.js.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const bundlePath = path.join(repoRoot, 'dist', 'bundle', 'kuma-dp.mjs');

await build({
  entryPoints: [path.join(repoRoot, 'dist', 'src', 'cli', 'main.js')],
  outfile: bundlePath,
  bundle: true,
  minify: true,
  // Stack traces in bug reports should still name our functions.
  keepNames: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['pino-pretty'],
  // CommonJS dependencies (pino, yargs' helpers) call require(); an ESM bundle has none of its own.
  banner: { js: "import { createRequire as __kumaDpCreateRequire } from 'node:module'; const require = __kumaDpCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(bundlePath, 0o755);

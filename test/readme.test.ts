import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RUN_SETTINGS } from '../src/config/settings.js';
import { UNSUPPORTED_SETTINGS } from '../src/config/unsupported.js';
import { repoRoot } from '../stand-ins/paths.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('documents every setting of kuma-dp run with its flag, environment variables and default', () => {
    for (const spec of Object.values(RUN_SETTINGS)) {
      if (spec.flag) assert.ok(readme.includes(`\`--${spec.flag}\``), `--${spec.flag}`);
      for (const name of spec.env) assert.ok(readme.includes(`\`${name}\``), name);
      if (spec.default !== undefined) {
        const key = spec.env[0] ?? `--${spec.flag}`;
        const row = readme.split('\n').find((line) => line.startsWith('|') && line.includes(`\`${key}\``) && line.includes(`\`${spec.default}\``));
        assert.ok(row, `default ${spec.default} of ${key}`);
      }
    }
  });

  it("answers every flag and variable of Go kuma-dp this agent does not act on", () => {
    for (const spec of UNSUPPORTED_SETTINGS) {
      for (const name of [...(spec.flag ? [`--${spec.flag}`] : []), ...spec.env]) assert.ok(readme.includes(`\`${name}\``), name);
    }
  });

  it('gives the two set-up commands that CI runs', () => {
    assert.ok(readme.includes('npm ci && npm run demo'));
    assert.ok(readme.includes('npm test'));
    const ci = readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci$/m);
    assert.match(ci, /^npm test$/m);
  });
});

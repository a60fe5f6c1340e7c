import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fixture } from './shared.js';

describe('conformance fixtures', () => {
  it('finds Kuma fixtures of both lines (HEAD and v2.14.3)', () => {
    assert.ok(existsSync(fixture('head')), 'head/ is missing');
    assert.ok(existsSync(fixture('v2.14.3')), 'v2.14.3/ is missing');
  });
});

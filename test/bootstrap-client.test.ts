// The bootstrap client against control planes that misbehave: one that trickles its answer, one
// that answers too much, one that quotes the token back.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { fetchBootstrap, MAX_ANSWER_BYTES, type BootstrapClientOptions } from '../src/bootstrap/client.js';
import type { BootstrapRequest } from '../src/bootstrap/request.js';
import { startControlPlane, type Mode } from '../stand-ins/control-plane.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl';

const request = {
  mesh: 'default',
  name: 'dp-1',
  proxyType: 'dataplane',
  dataplaneToken: TOKEN,
  version: { kumaDp: { version: '0.1.0', gitTag: '', gitCommit: '', buildDate: '' }, envoy: { version: '1.34.1', build: '', kumaDpCompatible: true } },
  dynamicMetadata: {},
  operatingSystem: 'linux',
  features: [],
  resources: {},
  workdir: '/tmp',
} as unknown as BootstrapRequest;

async function fetchFrom(mode: Mode, options: Partial<BootstrapClientOptions> = {}): Promise<{ error: Error; ms: number }> {
  const cp = await startControlPlane({ generation: 'modern', mode });
  after(() => cp.close());
  const started = Date.now();
  const error = await fetchBootstrap(request, {
    url: new URL(cp.url),
    retryBackoffMs: 100,
    retryMaxDurationMs: 0,
    logger: pino({ level: 'silent' }),
    ...options,
  }).then(
    () => assert.fail('the fetch succeeded'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof Error && error.name === 'BootstrapError', String(error));
  return { error, ms: Date.now() - started };
}

describe('bootstrap client against a hostile control plane', () => {
  it('gives the whole request, body included, one deadline: a trickled answer cannot hold it', async () => {
    const { error, ms } = await fetchFrom({ kind: 'trickle', intervalMs: 50 }, { requestTimeoutMs: 500 });
    assert.match(error.message, /no complete answer from http:\/\/127\.0\.0\.1:\d+ within 0\.5s/);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  it('keeps to the retry limit when every attempt trickles', async () => {
    const { error, ms } = await fetchFrom({ kind: 'trickle', intervalMs: 50 }, { requestTimeoutMs: 300, retryMaxDurationMs: 1000 });
    assert.match(error.message, /^gave up fetching the bootstrap .* attempts: no complete answer/);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  it(`refuses an answer over ${MAX_ANSWER_BYTES / 1024 / 1024} MiB with one line saying so`, async () => {
    const { error } = await fetchFrom({ kind: 'oversized', bytes: MAX_ANSWER_BYTES + 1024 * 1024 });
    assert.equal(error.message.split('\n').length, 1);
    assert.match(error.message, /^the control plane's answer is larger than 16 MiB \(a bootstrap is a few KiB\): refusing it$/);
  });

  it('never repeats the dataplane token, even when the control plane quotes it', async () => {
    const { error } = await fetchFrom('echo-token');
    assert.ok(!error.message.includes(TOKEN), error.message);
    assert.equal(error.message, 'Invalid request: token [redacted] is not valid for this dataplane');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tlsFailure } from '../src/bootstrap/tls.js';
import { MAX_TOKEN_FILE_BYTES } from '../src/bootstrap/token.js';
import { cgroupMemoryLimit } from '../src/system/memory-limit.js';
import { agentEnv, runAgent, startAgent, tempDir, waitUntil, type Agent } from './helpers/agent.js';
import { makePki } from './helpers/pki.js';
import { freePort, startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../stand-ins/control-plane.js';
import { readStarts, type StartRecord } from '../stand-ins/envoy-records.js';

/** A CP closed after the current test; suites start theirs in before() and close them in after(). */
async function controlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const cp = await startControlPlane(options);
  after(() => cp.close());
  return cp;
}

async function started(agent: Agent, record: string): Promise<StartRecord> {
  await waitUntil(() => readStarts(record).length > 0 || agent.child.exitCode !== null, 10_000, 'Envoy to start');
  assert.equal(agent.child.exitCode, null, `the agent exited early:\n${agent.stderr()}`);
  return readStarts(record)[0]!;
}

async function stop(agent: Agent): Promise<void> {
  agent.kill();
  await agent.exited;
}

const bodyOf = (cp: ControlPlane, n = 0) => cp.requests[n]!.body as Record<string, any>;

describe('TLS to the control plane', () => {
  const pki = makePki();
  let trusted: ControlPlane;
  let wrongName: ControlPlane;
  before(async () => {
    trusted = await startControlPlane({ generation: 'modern', tls: pki.good });
    wrongName = await startControlPlane({ generation: 'modern', tls: pki.wrongName });
  });
  after(async () => {
    await trusted.close();
    await wrongName.close();
  });

  const args = async (...extra: string[]) => ['run', '--name', 'ratings-v1', '--drain-time', '0s', '--admin-port', String(await freePort()), ...extra];

  it('verifies the CP against --ca-cert-file and sends that CA as caCert', async () => {
    const record = tempDir();
    const sent = trusted.requests.length;
    const agent = startAgent(await args('--ca-cert-file', pki.caFile), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: trusted.url, FAKE_ENVOY_RECORD_DIR: record }) });
    await started(agent, record);
    assert.equal(bodyOf(trusted, sent).caCert, pki.caCert);
    await stop(agent);
  });

  it('takes the CA inline from KUMA_CONTROL_PLANE_CA_CERT', async () => {
    const record = tempDir();
    const agent = startAgent(await args(), {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: trusted.url, KUMA_CONTROL_PLANE_CA_CERT: pki.caCert, FAKE_ENVOY_RECORD_DIR: record }),
    });
    await started(agent, record);
    await stop(agent);
  });

  // A long backoff: a classification that let these be retried would show up as a slow test.
  const noRetries = { KUMA_CONTROL_PLANE_RETRY_BACKOFF: '20s' };

  it('fails at once, saying what to pass, when the CA does not vouch for the certificate', async () => {
    const result = await runAgent(await args('--ca-cert-file', pki.otherCaFile), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: trusted.url, ...noRetries }) });
    assert.equal(result.code, 1);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
    assert.match(result.stderr, /certificate is not signed by the CA from --ca-cert-file.*Pass the CA that signed it with --ca-cert-file/);
  });

  it('verifies against the system CAs by default, which do not know the test CA', async () => {
    const result = await runAgent(await args(), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: trusted.url, ...noRetries }) });
    assert.equal(result.code, 1);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
    assert.match(result.stderr, /is not signed by the system's CAs/);
  });

  it('fails at once on a certificate for another name', async () => {
    const result = await runAgent(await args('--ca-cert-file', pki.caFile), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: wrongName.url, ...noRetries }) });
    assert.equal(result.code, 1);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
    assert.match(result.stderr, /certificate is not for 127\.0\.0\.1 \(it names DNS:other\.example\)\. Use a --cp-address whose host the certificate names/);
    assert.equal(wrongName.requests.length, 0);
  });

  it('connects to an unverifiable CP with --skip-verify, warning about it', async () => {
    const record = tempDir();
    const agent = startAgent(await args('--skip-verify'), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: wrongName.url, FAKE_ENVOY_RECORD_DIR: record }) });
    await started(agent, record);
    const warning = await agent.waitFor('insecure-control-plane');
    assert.equal(warning.level, 40);
    await stop(agent);
  });

  it('honours KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY', async () => {
    const record = tempDir();
    const agent = startAgent(await args(), {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: wrongName.url, KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY: 'true', FAKE_ENVOY_RECORD_DIR: record }),
    });
    await started(agent, record);
    await stop(agent);
  });

  it('refuses a CA file that is missing or not a certificate before sending anything', async () => {
    const notPem = path.join(tempDir(), 'ca.crt');
    writeFileSync(notPem, 'hello\n');
    for (const [file, message] of [
      [notPem, /^kuma-dp: invalid --ca-cert-file .*: not a PEM certificate/],
      ['/nonexistent/ca.crt', /^kuma-dp: cannot read --ca-cert-file \/nonexistent\/ca\.crt: ENOENT$/],
    ] as const) {
      const sent = trusted.requests.length;
      const result = await runAgent(await args('--ca-cert-file', file), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: trusted.url }) });
      assert.equal(result.code, 1);
      assert.match(result.stderr.trim(), message);
      assert.equal(trusted.requests.length, sent);
    }
  });
});

describe('TLS failures no retry heals', () => {
  const classify = tlsFailure(new URL('https://kuma-cp:5678'), { skipVerify: false });
  const failure = (code: string, wrapped = false) => {
    const error = Object.assign(new Error(code), { code });
    return classify(wrapped ? Object.assign(new Error('fetch failed'), { cause: error }) : error);
  };

  it('names the fix for each kind, also when the TLS error is wrapped', () => {
    assert.match(failure('SELF_SIGNED_CERT_IN_CHAIN', true)!, /not signed by the system's CAs .*--ca-cert-file/);
    assert.match(failure('CERT_HAS_EXPIRED')!, /outside its validity period .*renew it, or fix this host's clock/);
    assert.match(failure('ERR_SSL_WRONG_VERSION_NUMBER')!, /does not answer with TLS .*use http:\/\//);
    assert.match(failure('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')!, /must allow TLS 1\.2 or newer/);
  });

  it('leaves network trouble to the retries', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'ETIMEDOUT']) assert.equal(failure(code), undefined);
    assert.equal(classify(new Error('no code')), undefined);
  });
});

describe('dataplane tokens', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ generation: 'modern' });
  });
  after(() => cp.close());
  const base = async () => ['run', '--name', 'ratings-v1', '--drain-time', '0s', '--admin-port', String(await freePort())];
  const assertSecret = (token: string, agent: Agent, envoy: StartRecord) => {
    assert.ok(!agent.stderr().includes(token), 'the token is in the log');
    assert.ok(!Object.values(envoy.env).some((value) => value?.includes(token)), "the token is in Envoy's environment");
    assert.ok(!envoy.argv.some((arg) => arg.includes(token)), "the token is on Envoy's command line");
  };

  it('sends a trimmed token file and its path, and reads it again for the next start', async () => {
    const dir = tempDir();
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, '  token-one\n');
    const record = tempDir();
    const sent = cp.requests.length;
    const agent = startAgent([...(await base()), '--dataplane-token-file', tokenFile, '--envoy-restart-backoff', '50ms'], {
      env: agentEnv({
        KUMA_CONTROL_PLANE_URL: cp.url,
        FAKE_ENVOY_RECORD_DIR: record,
        FAKE_ENVOY_CRASH: 'exit:1',
        FAKE_ENVOY_CRASH_TIMES: '1',
        FAKE_ENVOY_CRASH_AFTER_MS: '700',
      }),
    });
    await cp.waitForRequest((r) => cp.requests.indexOf(r) >= sent);
    assert.equal(bodyOf(cp, sent).dataplaneToken, 'token-one');
    assert.equal(bodyOf(cp, sent).dataplaneTokenPath, tokenFile);
    // Rotated before the crash: the restart must present the new token.
    writeFileSync(tokenFile, 'token-two\n');
    await waitUntil(() => readStarts(record).length >= 2, 10_000, 'Envoy to be restarted');
    assert.equal(bodyOf(cp, sent + 1).dataplaneToken, 'token-two');
    for (const envoy of readStarts(record)) assertSecret('token-', agent, envoy);
    await stop(agent);
  });

  it('sends a trimmed KUMA_DATAPLANE_RUNTIME_TOKEN and keeps it out of logs and Envoy', async () => {
    const record = tempDir();
    const sent = cp.requests.length;
    const agent = startAgent(await base(), {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, KUMA_DATAPLANE_RUNTIME_TOKEN: ' env-secret \n', KUMA_DATAPLANE_LOG_LEVEL: 'trace' }),
    });
    const envoy = await started(agent, record);
    assert.equal(bodyOf(cp, sent).dataplaneToken, 'env-secret');
    assert.equal(bodyOf(cp, sent).dataplaneTokenPath, undefined);
    assertSecret('env-secret', agent, envoy);
    await stop(agent);
  });

  it('keeps a --dataplane-token out of logs and Envoy', async () => {
    const record = tempDir();
    const sent = cp.requests.length;
    const agent = startAgent([...(await base()), '--dataplane-token', 'flag-secret'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }) });
    const envoy = await started(agent, record);
    assert.equal(bodyOf(cp, sent).dataplaneToken, 'flag-secret');
    assertSecret('flag-secret', agent, envoy);
    await stop(agent);
  });

  it('refuses an unreadable or empty token file, or both kinds of token, before sending anything', async () => {
    const empty = path.join(tempDir(), 'empty-token');
    writeFileSync(empty, ' \n');
    for (const [extra, message] of [
      [['--dataplane-token-file', '/nonexistent/token'], /^kuma-dp: cannot read the dataplane token file \/nonexistent\/token \(ENOENT\): check --dataplane-token-file/],
      [['--dataplane-token-file', empty], /^kuma-dp: the dataplane token file .*empty-token is empty$/],
      [['--dataplane-token-file', empty, '--dataplane-token', 'both-secret'], /^kuma-dp: pass either --dataplane-token or --dataplane-token-file, not both$/],
    ] as const) {
      const sent = cp.requests.length;
      const result = await runAgent([...(await base()), ...extra], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }) });
      assert.equal(result.code, 1);
      assert.match(result.stderr.trim(), message);
      assert.ok(!result.stderr.includes('both-secret'));
      assert.equal(cp.requests.length, sent);
    }
  });
});

describe('token files a local user or a mistake can plant', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ generation: 'modern' });
  });
  after(() => cp.close());
  const base = async () => ['run', '--name', 'ratings-v1', '--drain-time', '0s', '--admin-port', String(await freePort())];

  it('refuses a FIFO, a device, an oversized file and a token with a line break inside, at once and with one line', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big');
    writeFileSync(big, 'x'.repeat(MAX_TOKEN_FILE_BYTES + 1));
    const two = path.join(dir, 'two');
    writeFileSync(two, 'token-one\ntoken-two\n');
    for (const [file, message] of [
      [fifo, /^kuma-dp: the dataplane token file .*fifo is not a regular file: check --dataplane-token-file$/],
      ['/dev/zero', /^kuma-dp: the dataplane token file \/dev\/zero is not a regular file: check --dataplane-token-file$/],
      [big, /^kuma-dp: the dataplane token file .*big is larger than 64 KiB: check --dataplane-token-file$/],
      [two, /^kuma-dp: the dataplane token file .*two holds more than one token: a line break, a space or a control character inside it$/],
    ] as const) {
      const sent = cp.requests.length;
      const result = await runAgent([...(await base()), '--dataplane-token-file', file], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }), timeoutMs: 10_000 });
      assert.equal(result.code, 1, `${file}: ${result.stderr}`);
      assert.match(result.stderr.trim(), message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.equal(cp.requests.length, sent);
    }
  });

  it('refuses an inline token with a control character', async () => {
    const result = await runAgent(await base(), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_RUNTIME_TOKEN: 'abc\u001b[2Jdef' }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'kuma-dp: invalid --dataplane-token (or KUMA_DATAPLANE_RUNTIME_TOKEN): it holds a line break, a space or a control character\n');
  });

  it('stays responsive when the token file is swapped for a FIFO: the restart uses the last good bootstrap, SIGTERM still stops it', async () => {
    const dir = tempDir();
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'token-one\n');
    const record = tempDir();
    const readinessPort = await freePort();
    const adminPort = await freePort();
    const agent = startAgent(['run', '--name', 'ratings-v1', '--drain-time', '0s', '--admin-port', String(adminPort), '--dataplane-token-file', tokenFile, '--envoy-restart-backoff', '50ms'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, KUMA_READINESS_PORT: String(readinessPort) }),
    });
    await agent.waitFor('envoy-live');
    rmSync(tokenFile);
    execFileSync('mkfifo', [tokenFile]);
    await fetch(`http://127.0.0.1:${adminPort}/fake/crash?code=3`, { method: 'POST' }).catch(() => undefined);
    const fallback = await agent.waitFor('bootstrap-fallback');
    assert.match(String(fallback.reason), /not a regular file/);
    await waitUntil(() => readStarts(record).length === 2, 10_000, 'Envoy to be restarted');
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${readinessPort}/ready`)).status === 200, 10_000, 'ready again');
    await stop(agent);
  });

  it("keeps the token file's path out of Envoy's environment, as the token itself", async () => {
    const tokenFile = path.join(tempDir(), 'token');
    writeFileSync(tokenFile, 'token-one\n');
    const record = tempDir();
    const agent = startAgent(await base(), { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, KUMA_DATAPLANE_RUNTIME_TOKEN_PATH: tokenFile }) });
    const envoy = await started(agent, record);
    assert.equal(bodyOf(cp, cp.requests.length - 1).dataplaneTokenPath, tokenFile);
    assert.ok(!Object.keys(envoy.env).some((name) => name.startsWith('KUMA_DATAPLANE_RUNTIME_TOKEN')), Object.keys(envoy.env).join(' '));
    await stop(agent);
  });
});

describe('the rest of the modern request', () => {
  it('sends HOST_IP as dynamic metadata, the cgroup memory limit, and only the features of its components and settings', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'ratings-v1', '--drain-time', '0s', '--admin-port', String(await freePort())], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, HOST_IP: '10.1.2.3' }),
    });
    await started(agent, record);
    const body = bodyOf(cp);
    assert.deepEqual(body.dynamicMetadata, { HOST_IP: '10.1.2.3' });
    // Go kuma-dp's defaults, in its order: the access-log streamer's, then those of settings.
    assert.deepEqual(body.features, ['feature-tcp-accesslog-via-named-pipe', 'feature-strict-inbound-ports', 'feature-reuse-port']);
    assert.deepEqual(body.resources, { maxHeapSizeBytes: cgroupMemoryLimit() ?? 0 });
    assert.equal(body.caCert, '');
    await stop(agent);
  });

  it('refuses a HOST_IP that is no IP address', async () => {
    const result = await runAgent(['run', '--name', 'x'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: 'http://127.0.0.1:1', HOST_IP: 'my-host' }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'kuma-dp: invalid HOST_IP "my-host": expected an IPv4 or IPv6 address\n');
  });
});

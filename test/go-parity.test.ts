import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { buildBootstrapRequest, type BootstrapRequestInput } from '../src/bootstrap/request.js';
import { parseVersionOutput } from '../src/envoy/binary.js';
import { RotatingFile } from '../src/logging/rotating-file.js';
import { systemCaBundle } from '../src/system/ca-bundle.js';
import { hasLocalIPv6 } from '../src/system/ipv6.js';
import { cgroupMemoryLimit } from '../src/system/memory-limit.js';
import { unknownVariables, unsupportedNotices, UNSUPPORTED_SETTINGS } from '../src/config/unsupported.js';
import { RUN_SETTINGS } from '../src/config/settings.js';
import { agentEnv, runAgent, startAgent, tempDir, waitUntil, type Agent } from './helpers/agent.js';
import { freePort, startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';
import { readStarts, type StartRecord } from '../stand-ins/envoy-records.js';

/** A bootstrap in the shape a modern kuma-cp sends (CONTRACTS.md §1), with the admin it is given. */
function bootstrap(admin: { port: number } | { pipe: string } | undefined, extra = ''): string {
  const address =
    admin === undefined
      ? ''
      : 'port' in admin
        ? `admin:\n  address:\n    socketAddress:\n      address: 127.0.0.1\n      portValue: ${admin.port}\n`
        : `admin:\n  address:\n    pipe:\n      mode: 384\n      path: ${admin.pipe}\n`;
  const metadata =
    admin === undefined
      ? ''
      : 'port' in admin
        ? `    dataplane.admin.address: 127.0.0.1\n    dataplane.admin.port: "${admin.port}"\n`
        : `    dataplane.admin.address: 127.0.0.1\n    dataplane.admin.port: "9901"\n    dataplane.admin.socketPath: ${admin.pipe}\n`;
  return (
    `${address}dynamicResources:\n  adsConfig:\n    apiType: DELTA_GRPC\n  cdsConfig:\n    ads: {}\n  ldsConfig:\n    ads: {}\n${extra}` +
    `node:\n  cluster: backend\n  id: default.web\n  metadata:\n${metadata}    dataplane.proxyType: dataplane\n`
  );
}

type Json = Record<string, any>;

async function controlPlane(options: Parameters<typeof startControlPlane>[0]): Promise<ControlPlane> {
  const cp = await startControlPlane(options);
  after(() => cp.close());
  return cp;
}

async function started(agent: Agent, record: string): Promise<StartRecord> {
  await waitUntil(() => readStarts(record).length > 0 || agent.child.exitCode !== null, 15_000, 'Envoy to start');
  const start = readStarts(record)[0];
  assert.ok(start, `Envoy did not start; stderr:\n${agent.stderr()}`);
  return start;
}

async function stop(agent: Agent): Promise<void> {
  agent.kill('SIGTERM');
  assert.equal((await agent.exited).code, 0);
}

const body = (cp: ControlPlane, n = 0) => cp.requests[n]!.body as Record<string, any>;

function pem(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  return file;
}

describe('the bootstrap request carries every field Go kuma-dp sends', () => {
  const input: BootstrapRequestInput = {
    mesh: 'demo',
    name: 'sample',
    proxyType: 'dataplane',
    readinessPort: 9902,
    envoy: { version: '1.34.1', build: 'x/1.34.1/Clean/RELEASE/BoringSSL', compatible: true },
    agent: { product: 'kuma-dp-node', version: '0.1.0', gitTag: 'v0.1.0', gitCommit: 'unknown', buildDate: 'unknown', reportedVersion: 'kuma-dp-node/0.1.0' },
    workdir: '/tmp/w',
    platform: 'linux',
    features: ['feature-x'],
    systemCaPath: '',
    ipv6Enabled: false,
  };

  it('sends the fields kuma-cp always gets from Go kuma-dp, empty where there is nothing to say', () => {
    assert.deepEqual(buildBootstrapRequest(input), {
      mesh: 'demo',
      name: 'sample',
      proxyType: 'dataplane',
      version: {
        kumaDp: { version: 'kuma-dp-node/0.1.0', gitTag: 'v0.1.0', gitCommit: 'unknown', buildDate: 'unknown' },
        envoy: { version: '1.34.1', build: 'x/1.34.1/Clean/RELEASE/BoringSSL', kumaDpCompatible: true },
      },
      caCert: '',
      dynamicMetadata: {},
      readinessPort: 9902,
      operatingSystem: 'linux',
      features: ['feature-x'],
      resources: { maxHeapSizeBytes: 0 },
      workdir: '/tmp/w',
      metricsResources: { certPath: '', keyPath: '' },
      systemCaPath: '',
      ipv6Enabled: false,
      spireResources: { socketPath: '' },
    });
  });

  it('takes the DNS proxy’s port and transparent-proxy configuration from its caller', () => {
    const off = { enabled: false, port: 1 };
    const dataplaneConfig = { ipFamilyMode: 'ipv4', redirect: { inbound: off, outbound: off, dns: off, vnet: {} } } as const;
    const request = buildBootstrapRequest({ ...input, dnsPort: 15053, dataplaneConfig });
    assert.equal(request.dnsPort, 15053);
    assert.deepEqual(request.dataplaneConfig, dataplaneConfig);
  });

  it('end to end: metrics TLS files, the system CA bundle, IPv6, SPIRE, memory and the features of its components and settings', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const dir = tempDir();
    const cert = pem(dir, 'cert.pem');
    const key = pem(dir, 'key.pem');
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--metrics-cert-path', cert, '--metrics-key-path', key], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, KUMA_DATAPLANE_RUNTIME_SPIRE_SOCKET_PATH: '/run/spire/agent.sock' }),
    });
    await started(agent, record);
    const sent = body(cp);
    assert.deepEqual(sent.metricsResources, { certPath: cert, keyPath: key });
    assert.equal(sent.systemCaPath, systemCaBundle() ?? '');
    assert.equal(sent.ipv6Enabled, hasLocalIPv6());
    assert.deepEqual(sent.spireResources, { socketPath: '/run/spire/agent.sock' });
    assert.deepEqual(sent.resources, { maxHeapSizeBytes: cgroupMemoryLimit() ?? 0 });
    assert.deepEqual(sent.features, ['feature-tcp-accesslog-via-named-pipe', 'feature-strict-inbound-ports', 'feature-reuse-port']);
    assert.equal(sent.caCert, '');
    assert.ok(Number.isInteger(sent.readinessPort) && sent.readinessPort > 0, 'kuma-cp always gets a readiness port');
    await stop(agent);
  });

  it('end to end: the environment overrides of Go kuma-dp', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s'], {
      env: agentEnv({
        KUMA_CONTROL_PLANE_URL: cp.url,
        FAKE_ENVOY_RECORD_DIR: record,
        KUMA_DATAPLANE_RUNTIME_DYNAMIC_SYSTEM_CA_PATH: '/opt/ca/bundle.pem',
        KUMA_DATAPLANE_RUNTIME_IPV6_ENABLED: 'false',
        KUMA_DATAPLANE_RESOURCES_MAX_MEMORY_BYTES: '268435456',
        KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED: 'false',
        KUMA_DATAPLANE_RUNTIME_REUSE_PORT_ENABLED: 'false',
        KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT: 'DELTA_GRPC',
        KUMA_DATAPLANE_RUNTIME_UNIFIED_RESOURCE_NAMING_ENABLED: 'true',
      }),
    });
    await started(agent, record);
    const sent = body(cp);
    assert.equal(sent.systemCaPath, '/opt/ca/bundle.pem');
    assert.equal(sent.ipv6Enabled, false);
    assert.deepEqual(sent.resources, { maxHeapSizeBytes: 268435456 });
    assert.deepEqual(sent.features, ['feature-tcp-accesslog-via-named-pipe', 'feature-delta-grpc', 'feature-unified-resource-naming']);
    assert.deepEqual(agent.lines.filter((l) => l.level === 40), [], 'no warnings: every variable was known');
    await stop(agent);
  });

  it('sends the token path as given, relative to where kuma-dp runs', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const cwd = tempDir();
    mkdirSync(path.join(cwd, 'testdata'));
    writeFileSync(path.join(cwd, 'testdata', 'token'), 'token1234');
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--dataplane-token-file', 'testdata/token'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
      cwd,
    });
    await started(agent, record);
    assert.equal(body(cp).dataplaneToken, 'token1234');
    assert.equal(body(cp).dataplaneTokenPath, 'testdata/token');
    await stop(agent);
  });

  it('with --readiness-port 0 serves readiness on a port the system picks and tells kuma-cp that port', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--readiness-port', '0'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
    });
    await started(agent, record);
    const port = body(cp).readinessPort as number;
    assert.ok(port > 0);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 10_000, 'readiness on the reported port');
    await stop(agent);
  });

  it('refuses a metrics certificate without its key, and a file it cannot read, before sending anything', async () => {
    const dir = tempDir();
    const cert = pem(dir, 'cert.pem');
    for (const [args, message] of [
      [['--metrics-cert-path', cert], 'kuma-dp: --metrics-cert-path needs --metrics-key-path too: kuma-cp uses the pair or neither\n'],
      [['--metrics-cert-path', cert, '--metrics-key-path', path.join(dir, 'nope.pem')], `kuma-dp: cannot read --metrics-key-path ${path.join(dir, 'nope.pem')}: ENOENT\n`],
    ] as const) {
      const result = await runAgent(['run', '--name', 'web', ...args], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: 'http://127.0.0.1:1' }) });
      assert.equal(result.code, 1);
      assert.equal(result.stderr, message);
    }
  });
});

describe('Go kuma-dp’s flags and variables: supported, or answered with a reason', () => {
  it('knows every flag and variable of Go kuma-dp run (v2.14.3 and 3.x), each in exactly one table', () => {
    // From app/kuma-dp/cmd/run.go, root.go and pkg/config/app/kuma-dp/config.go at both tags.
    const goFlags = [
      'name', 'mesh', 'proxy-type', 'drain-time', 'cp-address', 'ca-cert-file', 'skip-verify', 'binary-path', 'concurrency',
      'config-dir', 'work-dir', 'dataplane-token-file', 'dataplane-token', 'dataplane', 'dataplane-file', 'dataplane-var',
      'envoy-log-level', 'envoy-component-log-level', 'metrics-cert-path', 'metrics-key-path', 'bind-outbounds', 'dns-enabled',
      'dns-proxy-port', 'dns-envoy-port', 'dns-coredns-port', 'dns-coredns-path', 'dns-coredns-config-template-path',
      'dns-server-config-dir', 'dns-prometheus-port', 'dns-enable-logging', 'transparent-proxy', 'transparent-proxy-config',
      'log-level', 'log-output-path', 'log-max-retained-files', 'log-max-size', 'log-max-age',
    ];
    const goVariables = [
      'KUMA_CONTROL_PLANE_URL', 'KUMA_CONTROL_PLANE_CA_CERT', 'KUMA_CONTROL_PLANE_CA_CERT_FILE', 'KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY',
      'KUMA_CONTROL_PLANE_API_SERVER_URL', 'KUMA_CONTROL_PLANE_RETRY_BACKOFF', 'KUMA_CONTROL_PLANE_RETRY_MAX_DURATION',
      'KUMA_DATAPLANE_MESH', 'KUMA_DATAPLANE_NAME', 'KUMA_DATAPLANE_PROXY_TYPE', 'KUMA_DATAPLANE_DRAIN_TIME', 'KUMA_READINESS_PORT',
      'KUMA_DATAPLANE_RESILIENT_COMPONENT_BASE_BACKOFF', 'KUMA_DATAPLANE_RESILIENT_COMPONENT_MAX_BACKOFF',
      'KUMA_DATAPLANE_RUNTIME_BINARY_PATH', 'KUMA_DATAPLANE_RUNTIME_CONFIG_DIR', 'KUMA_DATAPLANE_RUNTIME_WORK_DIR',
      'KUMA_DATAPLANE_RUNTIME_CONCURRENCY', 'KUMA_DATAPLANE_RUNTIME_TOKEN_PATH', 'KUMA_DATAPLANE_RUNTIME_TOKEN',
      'KUMA_DATAPLANE_RUNTIME_RESOURCE', 'KUMA_DATAPLANE_RUNTIME_RESOURCE_PATH', 'KUMA_DATAPLANE_RUNTIME_ENVOY_LOG_LEVEL',
      'KUMA_DATAPLANE_RUNTIME_ENVOY_COMPONENT_LOG_LEVEL', 'KUMA_DATAPLANE_RUNTIME_SOCKET_DIR', 'KUMA_DATAPLANE_RUNTIME_METRICS_CERT_PATH',
      'KUMA_DATAPLANE_RUNTIME_METRICS_KEY_PATH', 'KUMA_DATAPLANE_RUNTIME_DYNAMIC_CONFIGURATION_REFRESH_INTERVAL',
      'KUMA_DATAPLANE_RUNTIME_DYNAMIC_SYSTEM_CA_PATH', 'KUMA_DATAPLANE_RUNTIME_TRANSPARENT_PROXY', 'KUMA_DATAPLANE_RUNTIME_BIND_OUTBOUNDS',
      'KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT', 'KUMA_DATAPLANE_RUNTIME_UNIFIED_RESOURCE_NAMING_ENABLED',
      'KUMA_DATAPLANE_RUNTIME_IPV6_ENABLED', 'KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED', 'KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED',
      'KUMA_DATAPLANE_RUNTIME_REUSE_PORT_ENABLED', 'KUMA_DATAPLANE_RUNTIME_SPIRE_SUPPORTED', 'KUMA_DATAPLANE_RUNTIME_SPIRE_SOCKET_PATH',
      'KUMA_DATAPLANE_RESOURCES_MAX_MEMORY_BYTES', 'KUMA_DNS_ENABLED', 'KUMA_DNS_PROXY_PORT', 'KUMA_DNS_CORE_DNS_PORT',
      'KUMA_DNS_ENVOY_DNS_PORT', 'KUMA_DNS_CORE_DNS_BINARY_PATH', 'KUMA_DNS_CORE_DNS_CONFIG_TEMPLATE_PATH', 'KUMA_DNS_CONFIG_DIR',
      'KUMA_DNS_PROMETHEUS_PORT', 'KUMA_DNS_ENABLE_LOGGING', 'KUMA_APPLICATION_PROBE_PROXY_PORT',
    ];
    const supported = Object.values(RUN_SETTINGS);
    const flagsOf = (specs: ReadonlyArray<{ flag?: string; alias?: string | readonly string[] }>) =>
      specs.flatMap((s) => [s.flag, ...[s.alias ?? []].flat()]).filter((f): f is string => typeof f === 'string' && f.length > 1);
    const supportedFlags = new Set(flagsOf(supported));
    const answeredFlags = new Set(flagsOf(UNSUPPORTED_SETTINGS));
    for (const flag of goFlags) assert.ok(supportedFlags.has(flag) !== answeredFlags.has(flag), `--${flag}: in exactly one table`);
    const supportedVars = new Set(supported.flatMap((s) => s.env));
    const answeredVars = new Set(UNSUPPORTED_SETTINGS.flatMap((s) => s.env));
    for (const name of goVariables) assert.ok(supportedVars.has(name) !== answeredVars.has(name), `${name}: in exactly one table`);
  });

  it('answers an ignored setting with one warning, and lets a value that asks for nothing pass', () => {
    assert.deepEqual(unsupportedNotices({ 'dns-coredns-port': '15053' }, { KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED: 'true' }), [
      '--dns-coredns-port is ignored: a CoreDNS setting of Kuma 2.x: this agent runs no CoreDNS (Kuma 3.x runs none either)',
      'KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED is ignored: this agent has no OpenTelemetry pipe: kuma-cp is not told feature-otel-via-kuma-dp, so Envoy sends telemetry to the collector itself',
    ]);
    assert.deepEqual(
      unsupportedNotices({ 'dns-enable-logging': false }, { KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED: 'false', KUMA_APPLICATION_PROBE_PROXY_PORT: '0', KUMA_DNS_CONFIG_DIR: '' }),
      [],
    );
  });

  it('warns once per KUMA_* variable nobody reads, with the name it was probably meant to be', () => {
    const known = new Set(['KUMA_DATAPLANE_MESH', 'KUMA_DATAPLANE_NAME']);
    assert.deepEqual(unknownVariables({ KUMA_DATAPLANE_MSH: 'a', KUMA_TOTALLY_ELSE: 'b', KUMA_DATAPLANE_MESH: 'c', OTHER: 'd' }, known), [
      'KUMA_DATAPLANE_MSH is not a kuma-dp variable and is ignored (did you mean KUMA_DATAPLANE_MESH?)',
      'KUMA_TOTALLY_ELSE is not a kuma-dp variable and is ignored',
    ]);
  });

  it('end to end: a copied Go unit file runs, with one warning per ignored setting and unknown variable', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--dns-coredns-port', '15053', '--dns-enabled=false'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, KUMA_DATAPLANE_DRAIN_TME: '5s', KUMA_DNS_CONFIG_DIR: '/tmp/dns' }),
    });
    await started(agent, record);
    const warnings = agent.lines.filter((l) => l.level === 40).map((l) => l.msg);
    assert.deepEqual(warnings.sort(), [
      '--dns-coredns-port is ignored: a CoreDNS setting of Kuma 2.x: this agent runs no CoreDNS (Kuma 3.x runs none either)',
      'KUMA_DATAPLANE_DRAIN_TME is not a kuma-dp variable and is ignored (did you mean KUMA_DATAPLANE_DRAIN_TIME?)',
      'KUMA_DNS_CONFIG_DIR is ignored: a CoreDNS setting of Kuma 2.x: this agent runs no CoreDNS (Kuma 3.x runs none either)',
    ]);
    await stop(agent);
  });

  it('fleet mode: says each ignored setting once for the whole agent, and tells kuma-cp each dataplane’s readiness port', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap(undefined) });
    const dir = tempDir('kuma-dp-fleet-');
    const [hostPort, ownPort, webAdmin, apiAdmin] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    writeFileSync(path.join(dir, 'web.yaml'), `name: web\nmesh: demo\nadmin-port: ${webAdmin}\n`);
    writeFileSync(path.join(dir, 'api.yaml'), `name: api\nmesh: demo\nadmin-port: ${apiAdmin}\nreadiness-port: ${ownPort}\n`);
    const agent = startAgent(['run', '--dataplanes-dir', dir, '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_READINESS_PORT: String(hostPort), FAKE_ENVOY_RECORD_DIR: tempDir(), KUMA_DATAPLANE_MSH: 'x' }),
    });
    await waitUntil(() => cp.requests.length >= 2, 20_000, 'both dataplanes to ask for a bootstrap');
    const sent = Object.fromEntries(cp.requests.map((r) => [(r.body as Json).name, (r.body as Json).readinessPort]));
    assert.deepEqual(sent, { web: hostPort, api: ownPort });
    await agent.waitFor('setting-ignored');
    assert.equal(agent.lines.filter((l) => l.event === 'setting-ignored').length, 1);
    await stop(agent);
  });

  it("gives Envoy kuma-dp's own log level unless --envoy-log-level says otherwise, as Go kuma-dp", async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    for (const [args, level] of [[['--log-level', 'debug'], 'debug'], [['--log-level', 'warn'], 'warning'], [['--log-level', 'debug', '--envoy-log-level', 'error'], 'error']] as const) {
      const record = tempDir();
      const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', ...args], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }) });
      const envoy = await started(agent, record);
      assert.equal(envoy.argv[envoy.argv.indexOf('--log-level') + 1], level);
      await stop(agent);
    }
  });
});

describe('what kuma-dp reads from Envoy and the host', () => {
  it("accepts Kuma's own Envoy mocks' --version output, as Go kuma-dp's parser does", () => {
    const build = '50ef0945fa2c5da4bff7627c3abf41fdd3b7cffd/1.15.0/clean-getenvoy-2aa564b-envoy/RELEASE/BoringSSL';
    for (const output of [`\nversion: ${build}\n`, `\nenvoy  version: ${build}\n\n`]) {
      assert.deepEqual(parseVersionOutput(output), { version: '1.15.0', build });
    }
    assert.equal(parseVersionOutput('\nversion: 50ef0945fa2c5da4bff7627c3abf41fdd3b7cffd/1.20.0-dev-label/x/RELEASE/BoringSSL\n')?.version, '1.20.0-dev-label');
    assert.equal(parseVersionOutput('envoyversion: nope\n'), undefined);
  });

  it('end to end: runs an Envoy that prints the mock format and reports it to kuma-cp', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const record = tempDir();
    const build = '50ef0945fa2c5da4bff7627c3abf41fdd3b7cffd/1.15.0/clean-getenvoy-2aa564b-envoy/RELEASE/BoringSSL';
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record, FAKE_ENVOY_VERSION_OUTPUT: `\nversion: ${build}\n` }),
    });
    await started(agent, record);
    assert.deepEqual(body(cp).version.envoy, { version: '1.15.0', build, kumaDpCompatible: false });
    await stop(agent);
  });

  it('finds the system CA bundle as Go kuma-dp does: the first of its list that exists', () => {
    const dir = tempDir();
    const [a, b, c] = ['a.crt', 'b.crt', 'c.crt'].map((n) => path.join(dir, n)) as [string, string, string];
    writeFileSync(b, 'x');
    writeFileSync(c, 'x');
    assert.equal(systemCaBundle([a, b, c]), b);
    assert.equal(systemCaBundle([a]), undefined);
  });

  it('counts a non-loopback IPv6 address as IPv6 support, as Go kuma-dp does, and nothing else', () => {
    const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as any;
    assert.equal(hasLocalIPv6({ lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)], eth0: [iface('10.0.0.2', 'IPv4')] }), false);
    assert.equal(hasLocalIPv6({ eth0: [iface('::ffff:10.0.0.2', 'IPv6')] }), false);
    assert.equal(hasLocalIPv6({ eth0: [iface('fe80::1', 'IPv6')] }), true);
    assert.equal(hasLocalIPv6({ lo: [iface('::6', 'IPv6', true)] }), true);
  });
});

describe('--log-output-path', () => {
  it('rotates by size with lumberjack’s names, keeps at most the retained count, drops the too old, writes 0600', () => {
    const dir = tempDir();
    const file = path.join(dir, 'kuma.log');
    let now = Date.UTC(2021, 5, 7, 9, 15, 18, 265);
    const old = path.join(dir, 'kuma-2021-01-01T00-00-00.000.log');
    writeFileSync(old, 'ancient\n');
    const log = new RotatingFile(file, { maxSizeBytes: 10, maxBackups: 2, maxAgeMs: 30 * 86_400_000 }, () => new Date(now));
    assert.deepEqual(readdirSync(dir), ['kuma.log'], 'a rotated file older than the age limit is removed');
    for (const line of ['one-1234\n', 'two-1234\n', 'three-12\n', 'four-123\n']) {
      log.write(line);
      now += 1000;
    }
    log.close();
    assert.deepEqual(readdirSync(dir).sort(), ['kuma-2021-06-07T09-15-20.265.log', 'kuma-2021-06-07T09-15-21.265.log', 'kuma.log']);
    assert.equal(readFileSync(file, 'utf8'), 'four-123\n');
    assert.equal(readFileSync(path.join(dir, 'kuma-2021-06-07T09-15-21.265.log'), 'utf8'), 'three-12\n');
    for (const name of readdirSync(dir)) assert.equal(statSync(path.join(dir, name)).mode & 0o777, 0o600, name);
  });

  it('refuses to follow a symlink at the log path', async () => {
    const dir = tempDir();
    symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'kuma.log'));
    const result = await runAgent(['run', '--name', 'web', '--log-output-path', path.join(dir, 'kuma.log')], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: 'http://127.0.0.1:1' }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `kuma-dp: cannot open --log-output-path ${path.join(dir, 'kuma.log')}: ELOOP\n`);
  });

  it('end to end: the agent’s JSON lines and Envoy’s go to the file, stderr stays quiet', async () => {
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: await freePort() }) });
    const dir = tempDir();
    const file = path.join(dir, 'logs', 'kuma-dp.log');
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--log-output-path', file], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }) });
    await started(agent, record);
    await stop(agent);
    assert.equal(agent.stdout(), `kuma-dp: logs will be stored in ${JSON.stringify(file)}\n`);
    assert.equal(agent.stderr(), '');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l.event === 'dataplane-starting'));
    assert.ok(lines.some((l) => l.source === 'envoy'));
    assert.ok(lines.some((l) => l.event === 'agent-stopped'));
  });
});

describe('Envoy’s admin and kuma-cp’s view of it', () => {
  it('names the clash when kuma-cp puts Envoy’s admin on kuma-dp’s readiness port', async () => {
    const port = await freePort();
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port }) });
    const result = await runAgent(['run', '--name', 'web', '--readiness-port', String(port)], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }) });
    assert.equal(result.code, 1);
    const fatal = result.lines.find((l) => l.level === 60);
    assert.equal(
      fatal?.msg,
      `the control plane put Envoy's admin on 127.0.0.1:${port}, the port of kuma-dp's own readiness endpoint (--readiness-port / KUMA_READINESS_PORT, default 9902): ` +
        "give the readiness endpoint another port, or Envoy's admin one with --admin-port",
    );
  });

  it('writes --admin-port into the Dataplane it sends, so kuma-cp 1.8+ chooses that port too', async () => {
    const adminPort = await freePort();
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ port: adminPort }) });
    const record = tempDir();
    const agent = startAgent(['run', '--drain-time', '0s', '--admin-port', String(adminPort), '--dataplane', 'type: Dataplane\nmesh: default\nname: web\nnetworking:\n  address: 127.0.0.1\n'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
    });
    await started(agent, record);
    assert.deepEqual(JSON.parse(body(cp).dataplaneResource as string).networking, { address: '127.0.0.1', admin: { port: adminPort } });
    assert.ok(!agent.lines.some((l) => l.event === 'admin-port-disagreement'), 'kuma-cp and the agent agree');
    await stop(agent);
  });

  it('refuses an --admin-port that the Dataplane template contradicts', async () => {
    const result = await runAgent(['run', '--admin-port', '9913', '--dataplane', 'type: Dataplane\nmesh: default\nname: web\nnetworking:\n  admin:\n    port: 9901\n'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: 'http://127.0.0.1:1' }),
    });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'kuma-dp: --admin-port 9913 conflicts with networking.admin.port 9901 in the --dataplane template: give one of them, or the same port to both\n');
  });

  it('moves the unix-socket admin of kuma-cp 2.14+ to --admin-port, metadata included, and says what still reads kuma-cp’s port', async () => {
    const work = tempDir();
    const socket = path.join(work, 'kuma-envoy-admin.sock');
    const cp = await controlPlane({ generation: 'modern', bootstrap: bootstrap({ pipe: socket }, 'hdsConfig:\n  apiType: GRPC\n') });
    const adminPort = await freePort();
    const record = tempDir();
    const agent = startAgent(['run', '--name', 'web', '--drain-time', '0s', '--admin-port', String(adminPort), '--work-dir', work], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
    });
    const envoy = await started(agent, record);
    const config = YAML.parse(envoy.config!) as Record<string, any>;
    assert.deepEqual(config.admin.address, { socketAddress: { address: '127.0.0.1', portValue: adminPort } });
    assert.deepEqual(config.node.metadata, { 'dataplane.admin.address': '127.0.0.1', 'dataplane.admin.port': String(adminPort), 'dataplane.proxyType': 'dataplane' });
    const warning = await agent.waitFor('admin-port-disagreement');
    assert.equal(warning.level, 40);
    assert.equal(warning.controlPlaneAdminPort, 9901);
    assert.match(String(warning.msg), /HDS/);
    await agent.waitFor('envoy-live');
    assert.equal((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status, 200);
    await stop(agent);
  });
});

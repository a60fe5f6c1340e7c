// Kuma's bootstrap-request goldens (app/kuma-dp/pkg/dataplane/envoy/testdata/bootstrap-request-*.golden.json,
// HEAD and v2.14.3): each scenario is sent by the real CLI to a stand-in kuma-cp, and the body is
// compared with the golden field by field. Values that depend on the machine (paths, versions, the
// host's IPv6 and memory) are compared by shape and against what this machine says.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { systemCaBundle } from '../src/system/ca-bundle.js';
import { hasLocalIPv6 } from '../src/system/ipv6.js';
import { cgroupMemoryLimit } from '../src/system/memory-limit.js';
import { agentEnv, startAgent, tempDir, waitUntil } from '../test/helpers/agent.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { readStarts } from '../stand-ins/envoy-records.js';
import { fixture } from './shared.js';

type Json = Record<string, any>;

/**
 * Go kuma-dp always runs its DNS proxy and always sends its port; this agent runs it only where
 * names can reach it (a transparent proxy redirecting DNS, or --bind-outbounds) and sends the port
 * only then, since kuma-cp takes DNS redirection to be on whenever it is set (README: Differences
 * from Go kuma-dp). In these scenarios it does not run.
 */
const SENT_ONLY_WHILE_DNS_RUNS = 'dnsPort';
/** Features whose golden presence comes from a side component this agent does not run yet. */
const COMPONENT_FEATURES: Readonly<Record<string, string>> = {
  'feature-tcp-accesslog-via-named-pipe': 'the access-log streamer',
};
/** Fields this agent sends beyond Go kuma-dp's: 0.x–1.7's admin port, ignored by later control planes. */
const EXTRA_FIELDS = new Set(['adminPort']);

interface Scenario {
  readonly golden: string;
  readonly args: (dir: string) => string[];
  readonly env?: Record<string, string>;
  /** Files the scenario needs under the agent's working directory. */
  readonly setup?: (cwd: string, version: string) => void;
}

const SAMPLE = '{"type":"Dataplane","mesh":"demo","name":"sample"}';

const SCENARIOS: readonly Scenario[] = [
  {
    golden: 'bootstrap-request-metrics-metadata.golden.json',
    args: (dir) => ['--dataplane', SAMPLE, '--dataplane-token', 'token', '--metrics-cert-path', path.join(dir, 'cert.pem'), '--metrics-key-path', path.join(dir, 'key.pem')],
    // The golden's {"test": "value"} was injected by Go's test; the one source of dynamic metadata is HOST_IP.
    env: { HOST_IP: '10.0.0.7' },
    setup: (cwd) => {
      for (const file of ['cert.pem', 'key.pem']) writeFileSync(path.join(cwd, file), '-----BEGIN CERTIFICATE-----\n');
    },
  },
  {
    golden: 'bootstrap-request-token-path.golden.json',
    args: () => ['--dataplane', SAMPLE, '--dataplane-token-file', 'testdata/token'],
    setup: (cwd, version) => {
      mkdirSync(path.join(cwd, 'testdata'));
      copyFileSync(fixture('conformance', 'request', version, 'token'), path.join(cwd, 'testdata', 'token'));
    },
  },
  {
    // Go's test: kumactl's configuration with both redirects off, DNS off on port 3456.
    golden: 'bootstrap-request-transparent-proxy.golden.json',
    args: (dir) => ['--dataplane', SAMPLE, '--dataplane-token', 'token', '--transparent-proxy-config', path.join(dir, 'tp.yaml'), '--dns-enabled=false', '--dns-proxy-port', '3456'],
    setup: (cwd) => {
      writeFileSync(path.join(cwd, 'tp.yaml'), 'ipFamilyMode: ipv4\nredirect:\n  inbound:\n    enabled: false\n    port: 1234\n  outbound:\n    enabled: false\n    port: 2345\n');
    },
  },
];

const isStringMap = (value: unknown) =>
  value === null || (typeof value === 'object' && !Array.isArray(value) && Object.values(value as object).every((v) => typeof v === 'string'));

/** Compares one field; `given` holds what the test passed the agent for per-machine values. */
function compareField(key: string, ours: any, golden: any, given: { workdir: string; readinessPort: number; dir: string }): void {
  switch (key) {
    case 'version': {
      assert.deepEqual(ours.envoy, golden.envoy, 'Envoy version, build and compatibility, from the same --version output');
      assert.deepEqual(Object.keys(ours.kumaDp).sort(), Object.keys(golden.kumaDp).sort());
      // Not a semantic version: kuma-cp counts it as a development build, compatible with every kuma-cp.
      assert.match(ours.kumaDp.version, /^kuma-dp-node\/\d+\.\d+\.\d+$/);
      assert.match(ours.kumaDp.gitTag, /^v\d+\.\d+\.\d+$/);
      assert.match(ours.kumaDp.gitCommit, /^([0-9a-f]{40}|unknown)$/);
      assert.match(ours.kumaDp.buildDate, /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z|unknown)$/);
      return;
    }
    case 'dataplaneResource': {
      // Go marshals the resource through its REST form, which adds zero timestamps and the KRI; kuma-cp reads type, mesh, name and spec.
      const mine = JSON.parse(ours) as Json;
      const theirs = JSON.parse(golden) as Json;
      for (const field of ['type', 'mesh', 'name']) assert.equal(mine[field], theirs[field], field);
      return;
    }
    case 'dynamicMetadata':
      assert.ok(isStringMap(golden) && isStringMap(ours), 'a map of strings');
      return;
    case 'features':
      for (const feature of ours) assert.ok(golden.includes(feature), `sends ${feature}, which Go kuma-dp does not in this scenario`);
      for (const feature of golden) assert.ok(ours.includes(feature) || feature in COMPONENT_FEATURES, `misses ${feature}`);
      return;
    case 'readinessPort':
      assert.ok(Number.isInteger(golden) && golden > 0);
      assert.equal(ours, given.readinessPort);
      return;
    case 'resources':
      assert.deepEqual(Object.keys(ours), Object.keys(golden));
      assert.equal(ours.maxHeapSizeBytes, cgroupMemoryLimit() ?? 0, "this machine's limit, 0 when unlimited");
      return;
    case 'workdir':
      assert.ok(path.isAbsolute(golden));
      assert.equal(ours, given.workdir);
      return;
    case 'metricsResources':
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(golden).sort());
      if (golden.certPath === '') assert.deepEqual(ours, golden);
      else assert.deepEqual(ours, { certPath: path.join(given.dir, 'cert.pem'), keyPath: path.join(given.dir, 'key.pem') });
      return;
    case 'systemCaPath':
      // Found as Go kuma-dp finds it; the golden was made where none was looked for.
      assert.equal(typeof golden, 'string');
      assert.equal(ours, systemCaBundle() ?? '');
      if (ours !== '') assert.ok(existsSync(ours));
      return;
    case 'ipv6Enabled':
      assert.equal(typeof golden, 'boolean');
      assert.equal(ours, hasLocalIPv6(), 'on where the host has an IPv6 address, as Go kuma-dp decides');
      return;
    default:
      assert.deepEqual(ours, golden);
  }
}

for (const version of ['head', 'v2.14.3']) {
  describe(`the bootstrap request against Kuma's goldens (${version})`, () => {
    for (const scenario of SCENARIOS) {
      it(scenario.golden, async () => {
        const golden = JSON.parse(readFileSync(fixture('conformance', 'request', version, scenario.golden), 'utf8')) as Json;
        const bootstrap = readFileSync(fixture('conformance', 'request', version, 'remote-bootstrap-config.response.yaml'), 'utf8');
        const cp = await startControlPlane({ generation: 'modern', bootstrap });
        after(() => cp.close());
        const dir = tempDir();
        const workdir = path.join(dir, 'work');
        scenario.setup?.(dir, version);
        const readinessPort = await freePort();
        const record = tempDir();
        const agent = startAgent(
          ['run', '--drain-time', '0s', '--admin-port', String(await freePort()), '--readiness-port', String(readinessPort), '--work-dir', workdir, ...scenario.args(dir)],
          {
            cwd: dir,
            env: agentEnv({
              KUMA_CONTROL_PLANE_URL: cp.url,
              FAKE_ENVOY_RECORD_DIR: record,
              // Kuma's Envoy mock, whose build the goldens carry, in its own format.
              FAKE_ENVOY_VERSION_OUTPUT: `\nversion: ${golden.version.envoy.build}\n`,
              // The goldens' features are the ones Go's test passed; Go's own defaults add these two.
              KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED: 'false',
              KUMA_DATAPLANE_RUNTIME_REUSE_PORT_ENABLED: 'false',
              ...scenario.env,
            }),
          },
        );
        try {
          await waitUntil(() => readStarts(record).length > 0 || agent.child.exitCode !== null, 15_000, 'Envoy to start');
          assert.equal(readStarts(record).length, 1, agent.stderr());
          const ours = cp.requests[0]!.body as Json;
          for (const key of new Set([...Object.keys(golden), ...Object.keys(ours)])) {
            if (key === SENT_ONLY_WHILE_DNS_RUNS) {
              assert.equal(ours[key], undefined, 'no DNS proxy runs here');
              continue;
            }
            if (EXTRA_FIELDS.has(key)) continue;
            assert.ok(key in golden, `sends ${key}, which Go kuma-dp does not`);
            assert.ok(key in ours, `misses ${key}`);
            compareField(key, ours[key], golden[key], { workdir, readinessPort, dir });
          }
        } finally {
          agent.kill('SIGTERM');
          await agent.exited;
        }
      });
    }
  });
}

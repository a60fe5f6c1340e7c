// kuma-dp run with kuma-cp's dynamic configuration served by the fake Envoy: the one poller feeds
// both MeshMetric (see metrics-e2e.test.ts) and the DNS proxy's `/dns`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../stand-ins/control-plane.js';
import { readDynconfLog } from '../stand-ins/envoy-records.js';
import { writeScenario } from '../stand-ins/scenario.js';
import { tempDir, waitUntil } from './helpers/agent.js';
import { addressesOf, queryUdp } from './helpers/dns.js';
import { readinessAnswer, startDataplane } from './helpers/readiness.js';

describe("kuma-cp's /dns through the poller", () => {
  it('answers the mesh names kuma-cp sends and turns ready without waiting out the 15 s', async () => {
    const dir = tempDir('kuma-dp-dns-dynconf-');
    const config = path.join(dir, 'tp.yaml');
    writeFileSync(config, 'ipFamilyMode: ipv4\nredirect:\n  inbound:\n    port: 15006\n  outbound:\n    port: 15001\n  dns:\n    enabled: true\n');
    const scenario = path.join(dir, 'scenario.json');
    writeScenario(scenario, { dynamicConfig: { '/dns': { records: [{ name: 'backend.svc.mesh.local', ips: ['241.0.0.3'] }], ttl: 30 } } });
    const record = tempDir();
    const dnsPort = await freePort();
    const started = Date.now();
    const { agent, readinessPort } = await startDataplane(['--drain-time', '0s', '--transparent-proxy-config', config, '--dns-proxy-port', String(dnsPort)], {
      FAKE_ENVOY_SCENARIO: scenario,
      FAKE_ENVOY_RECORD_DIR: record,
    });
    await waitUntil(async () => (await readinessAnswer(readinessPort)) === '200 READY', 14_000, 'READY with the first records');
    assert.ok(Date.now() - started < 14_000);
    assert.deepEqual(addressesOf(await queryUdp('backend.svc.mesh.local', 'A', dnsPort, '127.0.0.1', 5000)), ['241.0.0.3']);
    assert.deepEqual(
      readDynconfLog(record).slice(0, 2).map((entry) => entry.path),
      ['/dns', '/meshmetric'],
      'one poller: /dns first, as Go polls',
    );
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

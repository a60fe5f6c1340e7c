// Kuma's DNS payloads, answered by the agent's DNS proxy: every `/dns` body kuma-cp's generator
// tests produce (pkg/xds/generator/testdata/dns, HEAD and v2.14.3), and the bootstrap request's
// `dataplaneConfig` of app/kuma-dp/pkg/dataplane/envoy/testdata (CASES.md sections E, H, I, L).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import YAML from 'yaml';
import { buildBootstrapRequest } from '../src/bootstrap/request.js';
import { createDnsProxy } from '../src/dns/proxy.js';
import { realClock } from '../src/runtime/clock.js';
import { parseTransparentProxyConfig } from '../src/transparent-proxy/config.js';
import { addressesOf, queryTcp, queryUdp } from '../test/helpers/dns.js';
import { fixture } from './shared.js';

interface DnsPayload {
  readonly file: string;
  readonly body: string;
  readonly etag?: string;
}

/** Every `/dns` direct response of a golden, with the Etag its 200 route sends. */
function dnsPayloads(version: 'head' | 'v2.14.3'): DnsPayload[] {
  const dir = fixture(version, 'pkg/xds/generator/testdata/dns');
  return readdirSync(dir)
    .filter((name) => name.endsWith('-envoy-config.golden.yaml'))
    .flatMap((name) => {
      const payloads: DnsPayload[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (typeof node !== 'object' || node === null) return;
        const route = node as { match?: { path?: string }; directResponse?: { body?: { inlineString?: string } }; responseHeadersToAdd?: Array<{ header: { key: string; value: string } }> };
        const body = route.directResponse?.body?.inlineString;
        if (route.match?.path === '/dns' && body !== undefined) {
          payloads.push({ file: `${version}/${name}`, body, etag: route.responseHeadersToAdd?.find((h) => h.header.key === 'Etag')?.header.value });
        }
        Object.values(node).forEach(walk);
      };
      walk(YAML.parse(readFileSync(`${dir}/${name}`, 'utf8')));
      return payloads;
    });
}

const payloads = [...dnsPayloads('head'), ...dnsPayloads('v2.14.3')];
const stops: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(stops.map((stop) => stop()));
});

describe("kuma-cp's /dns payloads, answered by the DNS proxy", () => {
  it('finds the payloads of both lines (HEAD 1, 3, 4, 6; v2.14.3 4, 5)', () => {
    assert.equal(payloads.filter((p) => p.file.startsWith('head/')).length, 4);
    assert.equal(payloads.filter((p) => p.file.startsWith('v2.14.3/')).length, 2);
  });

  for (const payload of payloads) {
    it(`${payload.file}: every name answered locally with its addresses, NODATA for a missing family, extraLabels on the metrics`, async () => {
      assert.equal(payload.etag, createHash('sha256').update(payload.body).digest('hex'), 'the Etag is the hex sha256 of the body');
      const config = JSON.parse(payload.body) as { records: Array<{ name: string; ips: string[] }>; ttl: number; extraLabels: Record<string, string> };
      const proxy = createDnsProxy({ addresses: [{ host: '127.0.0.1', port: 0 }], clock: realClock, resolvConf: '/nonexistent' });
      await proxy.listen(pino({ level: 'silent' }));
      stops.push(() => proxy.close());
      proxy.member('default/dataplane').update(config);
      const port = proxy.listening[0]!.port;
      for (const record of config.records) {
        const v4 = record.ips.filter((ip) => isIP(ip) === 4);
        const v6 = record.ips.filter((ip) => isIP(ip) === 6);
        const a = await queryUdp(record.name, 'A', port);
        assert.equal(a.rcode, 'NOERROR');
        assert.equal(a.flag_aa, true);
        assert.deepEqual(addressesOf(a), v4, `${record.name} A`);
        for (const answer of a.answers ?? []) assert.equal((answer as { ttl: number }).ttl, config.ttl);
        const aaaa = await queryTcp(record.name, 'AAAA', port);
        assert.equal(aaaa.rcode, 'NOERROR');
        assert.equal(aaaa.flag_aa, true);
        assert.deepEqual(addressesOf(aaaa).map(String), v6, `${record.name} AAAA`);
      }
      const duration = proxy.metrics.collect().find((family) => family.name === 'kuma_dp_dns_request_duration_seconds')!;
      assert.deepEqual(duration.samples[0]!.labels, config.extraLabels);
    });
  }
});

describe("the bootstrap request's dataplaneConfig (bootstrap-request-transparent-proxy.golden.json)", () => {
  for (const version of ['head', 'v2.14.3']) {
    it(`${version}: kumactl's configuration comes out as Go kuma-dp sends it, with its feature`, () => {
      const golden = JSON.parse(readFileSync(fixture('conformance/request', version, 'bootstrap-request-transparent-proxy.golden.json'), 'utf8')) as {
        dataplaneConfig: unknown;
        features: string[];
      };
      // The golden's inputs, as an operator would write them for kumactl; DNS as kuma-dp's settings say.
      const dataplaneConfig = parseTransparentProxyConfig(
        [{ source: 'tp.yaml', text: 'ipFamilyMode: ipv4\nredirect:\n  inbound:\n    enabled: false\n    port: 1234\n  outbound:\n    enabled: false\n    port: 2345\n' }],
        { enabled: false, proxyPort: 3456 },
      );
      const request = buildBootstrapRequest({
        mesh: 'demo',
        name: 'sample',
        proxyType: 'dataplane',
        envoy: { version: '1.15.0', build: 'x', compatible: false },
        agent: { product: 'kuma-dp-node', version: '0.0.1', gitTag: 'v0.0.1', gitCommit: 'unknown', buildDate: 'unknown', reportedVersion: 'kuma-dp-node/0.0.1' },
        readinessPort: 9902,
        workdir: '/tmp',
        platform: 'linux',
        features: ['feature-tcp-accesslog-via-named-pipe'],
        systemCaPath: '',
        ipv6Enabled: true,
        dataplaneConfig,
      });
      assert.equal(JSON.stringify(request.dataplaneConfig), JSON.stringify(golden.dataplaneConfig), 'field for field, in Go\'s order');
      assert.deepEqual([...request.features].sort(), [...golden.features].sort());
    });
  }
});

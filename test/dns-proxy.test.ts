import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import packet from 'dns-packet';
import pino from 'pino';
import { dnsBindAddresses } from '../src/dns/bind-addresses.js';
import { dnsComponent, FIRST_RECORDS_WAIT_MS } from '../src/dns/component.js';
import { DnsProxies } from '../src/dns/proxies.js';
import { createDnsProxy } from '../src/dns/proxy.js';
import { firstNameserver } from '../src/dns/resolv-conf.js';
import type { Clock } from '../src/runtime/clock.js';
import { realClock } from '../src/runtime/clock.js';
import type { Running } from '../src/runtime/component.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { parseTransparentProxyConfig } from '../src/transparent-proxy/config.js';
import { addressesOf, type Answer, encodeQuery, exchangeUdp, queryTcp, queryUdp, upstreamWithResolvConf } from './helpers/dns.js';
import { tempDir } from './helpers/agent.js';
import { ManualClock } from './helpers/clock.js';

const silent = pino({ level: 'silent' });
const running: Running[] = [];
after(async () => {
  await Promise.all(running.map((r) => r.stop()));
});

async function startProxy(options: { resolvConf: string; upstreamTimeoutMs?: number }) {
  const proxy = createDnsProxy({
    addresses: [{ host: '127.0.0.1', port: 0 }],
    clock: realClock,
    resolvConf: options.resolvConf,
    upstreamTimeoutMs: options.upstreamTimeoutMs,
  });
  await proxy.listen(silent);
  running.push({ stop: () => proxy.close() });
  return { proxy, names: proxy.member('demo/web'), port: proxy.listening[0]!.port };
}

// Kuma's own case (dnsproxy/component_test.go "hit the map"), answered for real over the wire.
const GO_CASE = { ttl: 123, records: [{ name: 'example.com', ips: ['240.0.0.1', '::2'] }], extraLabels: { mesh: 'default', kuma_workload: 'backend' } };

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function udpPortFree(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  const free = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return free;
}

describe('DNS proxy', () => {
  const dir = tempDir('kuma-dp-dns-');

  it('answers mesh names itself, authoritatively, over UDP and TCP, and forwards the rest', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 125 });
    after(() => upstream.close());
    const { names, port } = await startProxy({ resolvConf });
    names.update(GO_CASE);

    const a = await queryUdp('example.com', 'A', port);
    assert.equal(a.rcode, 'NOERROR');
    assert.equal(a.flag_aa, true);
    assert.deepEqual(addressesOf(a), ['240.0.0.1']);
    assert.equal((a.answers![0] as { ttl: number }).ttl, 123);

    const aaaa = await queryUdp('example.com', 'AAAA', port);
    assert.deepEqual(addressesOf(aaaa), ['::2']);
    assert.equal(aaaa.flag_aa, true);

    const tcp = await queryTcp('example.com', 'A', port);
    assert.deepEqual(addressesOf(tcp), ['240.0.0.1']);

    const forwarded = await queryUdp('foo.com', 'A', port);
    assert.equal(forwarded.rcode, 'NOERROR');
    assert.equal(forwarded.flag_aa, false);
    assert.deepEqual(addressesOf(forwarded), ['17.0.0.1']);
    assert.equal((forwarded.answers![0] as { ttl: number }).ttl, 125, 'the upstream answer is returned as it came');
    const forwardedTcp = await queryTcp('bar.org', 'A', port);
    assert.deepEqual(addressesOf(forwardedTcp), ['17.0.0.1']);
    assert.deepEqual(upstream.questions.map((q) => q.name), ['foo.com', 'bar.org'], 'mesh names never reach the upstream');
  });

  it('answers NODATA for the family a name lacks, matches names without regard to case, and echoes the question as asked', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { names, port } = await startProxy({ resolvConf });
    names.update({ ttl: 30, records: [{ name: 'backend.svc.mesh.local', ips: ['241.0.0.3'] }] });

    const nodata = await queryUdp('backend.svc.mesh.local', 'AAAA', port);
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.flag_aa, true);
    assert.deepEqual(nodata.answers, []);

    const mixed = await queryUdp('BackEnd.SVC.mesh.local', 'A', port);
    assert.deepEqual(addressesOf(mixed), ['241.0.0.3']);
    assert.equal(mixed.questions![0]!.name, 'BackEnd.SVC.mesh.local');
    assert.equal(mixed.answers![0]!.name, 'BackEnd.SVC.mesh.local');
    assert.deepEqual(upstream.questions, []);
  });

  it('passes an upstream SERVFAIL on, and answers SERVFAIL itself when the upstream is silent for 2s or there is none', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'servfail' });
    after(() => upstream.close());
    const { port, proxy } = await startProxy({ resolvConf });
    assert.equal((await queryUdp('fails.example', 'A', port)).rcode, 'SERVFAIL');
    assert.equal(upstream.questions.length, 1, 'the SERVFAIL came from upstream');

    upstream.setMode({ kind: 'silent' });
    const started = Date.now();
    const timedOut = await queryUdp('silent.example', 'A', port, '127.0.0.1', 10_000);
    const waited = Date.now() - started;
    assert.equal(timedOut.rcode, 'SERVFAIL');
    assert.ok(waited >= 1900 && waited < 9000, `SERVFAIL after ${waited}ms, Go's 2s upstream timeout expected`);

    writeFileSync(resolvConf, '# no nameserver at all\nsearch example.internal\n');
    assert.equal((await queryUdp('nowhere.example', 'A', port)).rcode, 'SERVFAIL');
    const failures = proxy.metrics.collect().find((f) => f.name === 'kuma_dp_dns_upstream_request_failure_count')!;
    assert.equal((failures.samples[0] as { value: number }).value, 2);
  });

  it('reads resolv.conf again when it changes', async () => {
    const first = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 }, 'resolv-change.conf');
    after(() => first.upstream.close());
    const second = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '18.0.0.2', ttl: 5 }, 'resolv-second.conf');
    after(() => second.upstream.close());
    const { port } = await startProxy({ resolvConf: first.resolvConf });
    assert.deepEqual(addressesOf(await queryUdp('moved.example', 'A', port)), ['17.0.0.1']);
    writeFileSync(first.resolvConf, `nameserver ${second.upstream.address}\n`);
    assert.deepEqual(addressesOf(await queryUdp('moved.example', 'A', port)), ['18.0.0.2']);
  });

  it('keeps answering after 1,000 malformed packets', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { names, port } = await startProxy({ resolvConf });
    names.update({ ttl: 30, records: [{ name: 'backend.svc.mesh.local', ips: ['241.0.0.3'] }] });
    const valid = encodeQuery('backend.svc.mesh.local', 'A', 0x1234);
    const shapes: Array<(i: number) => Buffer> = [
      (i) => Buffer.from(Array.from({ length: i % 80 }, (_, j) => (i * 31 + j * 7) & 0xff)), // noise of every length
      (i) => valid.subarray(0, i % valid.length), // cut anywhere
      () => Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // a name pointing at itself
      () => Buffer.concat([valid.subarray(0, 4), Buffer.from([0xff, 0xff]), valid.subarray(6)]), // 65,535 questions announced
      () => Buffer.concat([valid.subarray(0, 12), Buffer.from([63]), Buffer.alloc(10, 0x41)]), // a label longer than the packet
      (i) => {
        const flipped = Buffer.from(valid);
        flipped[i % flipped.length] ^= 0xff;
        return flipped;
      },
      () => Buffer.concat([Buffer.from([0, 1, 0x80, 0]), valid.subarray(4)]), // a response, not a query
    ];
    const socket = dgram.createSocket('udp4');
    // Paced, so that the kernel delivers them all rather than dropping a burst.
    for (let i = 0; i < 1000; i++) {
      await new Promise<void>((resolve) => socket.send(shapes[i % shapes.length]!(i), port, '127.0.0.1', () => resolve()));
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const answer = await queryUdp('backend.svc.mesh.local', 'A', port);
    assert.deepEqual(addressesOf(answer), ['241.0.0.3']);
    assert.deepEqual(addressesOf(await queryTcp('backend.svc.mesh.local', 'A', port)), ['241.0.0.3']);

    // Two questions in one query: FORMERR with the query's id, as Go's miekg/dns server answers.
    const two = packet.encode({ type: 'query', id: 4242, questions: [{ type: 'A', name: 'a.example' }, { type: 'A', name: 'b.example' }] });
    const refused = packet.decode((await exchangeUdp(two, port))!) as Answer;
    assert.equal(refused.id, 4242);
    assert.equal(refused.rcode, 'FORMERR');
  });

  it('sets TC on a UDP answer that does not fit 512 bytes, and answers it whole over TCP', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { names, port } = await startProxy({ resolvConf });
    const ips = Array.from({ length: 40 }, (_, i) => `241.0.1.${i + 1}`);
    names.update({ ttl: 30, records: [{ name: 'wide.svc.mesh.local', ips }] });
    const udp = await queryUdp('wide.svc.mesh.local', 'A', port);
    assert.equal(udp.flag_tc, true);
    assert.deepEqual(udp.answers, []);
    assert.deepEqual(addressesOf(await queryTcp('wide.svc.mesh.local', 'A', port)), ips);
  });

  it('answers the names it derives beside kuma-cp records, and a new configuration replaces the last', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { names, port } = await startProxy({ resolvConf });
    names.setNames([{ name: 'ratings.svc.mesh.local', ips: ['127.2.0.1'] }]);
    names.update({ ttl: 30, records: [{ name: 'old.mesh', ips: ['240.0.0.9'] }] });
    assert.deepEqual(addressesOf(await queryUdp('ratings.svc.mesh.local', 'A', port)), ['127.2.0.1']);
    assert.deepEqual(addressesOf(await queryUdp('old.mesh', 'A', port)), ['240.0.0.9']);
    names.update({ ttl: 30, records: [{ name: 'new.mesh', ips: ['240.0.0.10'] }] });
    assert.deepEqual(addressesOf(await queryUdp('new.mesh', 'A', port)), ['240.0.0.10']);
    assert.deepEqual(addressesOf(await queryUdp('old.mesh', 'A', port)), ['17.0.0.1'], 'a name kuma-cp dropped is forwarded again');
    assert.throws(() => names.update({ records: 'nope' }), /not a list/);
    assert.deepEqual(addressesOf(await queryUdp('new.mesh', 'A', port)), ['240.0.0.10'], 'a malformed configuration changes nothing');
  });

  it("counts queries in Go kuma-dp's metrics, with kuma-cp's extraLabels on every sample", async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { proxy, names, port } = await startProxy({ resolvConf });
    names.update({ ...GO_CASE, extraLabels: { mesh: 'default', kuma_workload: 'backend', k8s_kuma_io_namespace: 'test-ns' } });
    await queryUdp('example.com', 'A', port);
    await queryUdp('example.com', 'A', port);
    await queryUdp('elsewhere.example', 'A', port);
    const families = new Map(proxy.metrics.collect().map((family) => [family.name, family]));
    const duration = families.get('kuma_dp_dns_request_duration_seconds')!;
    assert.deepEqual(duration.samples[0]!.labels, { mesh: 'default', kuma_workload: 'backend', k8s_kuma_io_namespace: 'test-ns' });
    assert.equal((duration.samples[0] as { count: number }).count, 3);
    const queries = families.get('kuma_dp_dns_queries_total')!.samples as Array<{ labels: Record<string, string>; value: number }>;
    assert.equal(queries.find((s) => s.labels.source === 'local' && s.labels.qtype === 'A')?.value, 2);
    assert.equal(queries.find((s) => s.labels.source === 'upstream' && s.labels.qtype === 'A')?.value, 1);
    const codes = families.get('kuma_dp_dns_response_codes_total')!.samples as Array<{ labels: Record<string, string>; value: number }>;
    assert.equal(codes.find((s) => s.labels.rcode === 'noerror')?.value, 3);
    assert.equal((families.get('kuma_dp_dns_entries_total')!.samples[0] as { value: number }).value, 1);
    assert.equal((families.get('kuma_dp_dns_config_ready_wait_seconds')!.samples[0] as { count: number }).count, 1);
    assert.deepEqual(
      [...families.keys()].sort(),
      [
        'kuma_dp_dns_config_ready_wait_seconds',
        'kuma_dp_dns_entries_total',
        'kuma_dp_dns_queries_total',
        'kuma_dp_dns_request_duration_seconds',
        'kuma_dp_dns_response_codes_total',
        'kuma_dp_dns_upstream_request_duration_seconds',
        'kuma_dp_dns_upstream_request_failure_count',
      ],
    );
  });

  it('fails to start, holding nothing, when a port is taken', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const takenPort = taken.address().port;
    const resolvConf = path.join(dir, 'unused.conf');
    const alone = createDnsProxy({ addresses: [{ host: '127.0.0.1', port: takenPort }], clock: realClock, resolvConf });
    await assert.rejects(alone.listen(silent), /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);

    // The first address binds, the second is taken: start fails and the first is released.
    const free = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => free.bind(0, '127.0.0.2', resolve));
    const freePort = free.address().port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const pair = createDnsProxy({
      addresses: [
        { host: '127.0.0.2', port: freePort },
        { host: '127.0.0.1', port: takenPort },
      ],
      clock: realClock,
      resolvConf,
    });
    await assert.rejects(pair.listen(silent), /the port is in use/);
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(freePort, '127.0.0.2', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});

describe('DNS proxy shared by dataplanes', () => {
  const dir = tempDir('kuma-dp-dns-shared-');

  it('answers the union of every member and forgets a member that is removed', async () => {
    const { upstream, resolvConf } = await upstreamWithResolvConf(dir, { kind: 'answer', ip: '17.0.0.1', ttl: 5 });
    after(() => upstream.close());
    const { proxy, names: web, port } = await startProxy({ resolvConf });
    const api = proxy.member('demo/api');
    assert.throws(() => proxy.member('demo/api'), /answers for demo\/api already/);
    assert.equal(web.update({ ttl: 30, records: [{ name: 'shared.mesh', ips: ['240.0.0.1'] }, { name: 'web-only.mesh', ips: ['240.0.0.2'] }] }), true, 'the first configuration');
    assert.equal(web.update({ ttl: 30, records: [{ name: 'shared.mesh', ips: ['240.0.0.1'] }, { name: 'web-only.mesh', ips: ['240.0.0.2'] }] }), false);
    api.update({ ttl: 30, records: [{ name: 'shared.mesh', ips: ['240.0.0.3'] }] });
    api.setNames([{ name: 'ratings.svc.mesh.local', ips: ['127.2.0.1'] }]);
    assert.deepEqual(addressesOf(await queryUdp('web-only.mesh', 'A', port)), ['240.0.0.2']);
    assert.deepEqual(addressesOf(await queryUdp('ratings.svc.mesh.local', 'A', port)), ['127.2.0.1']);
    assert.deepEqual(addressesOf(await queryUdp('shared.mesh', 'A', port)).sort(), ['240.0.0.1', '240.0.0.3']);
    api.remove();
    assert.deepEqual(addressesOf(await queryUdp('ratings.svc.mesh.local', 'A', port)), ['17.0.0.1'], "a removed member's names are forwarded");
    assert.deepEqual(addressesOf(await queryUdp('shared.mesh', 'A', port)), ['240.0.0.1']);
    assert.deepEqual(addressesOf(await queryUdp('web-only.mesh', 'A', port)), ['240.0.0.2']);
  });

  it('binds once for every member on the same addresses and closes when the last leaves', async () => {
    const port = await freeUdpPort();
    const proxies = new DnsProxies({ logger: silent, clock: realClock, resolvConf: path.join(dir, 'none.conf') });
    const addresses = [{ host: '127.0.0.1', port }];
    const [web, api] = await Promise.all([proxies.join('demo/web', addresses), proxies.join('demo/api', addresses)]);
    web.setNames([{ name: 'web.svc.mesh.local', ips: ['127.2.0.1'] }]);
    api.setNames([{ name: 'api.svc.mesh.local', ips: ['127.2.0.2'] }]);
    assert.deepEqual(addressesOf(await queryUdp('web.svc.mesh.local', 'A', port)), ['127.2.0.1']);
    assert.deepEqual(addressesOf(await queryUdp('api.svc.mesh.local', 'A', port)), ['127.2.0.2']);
    await assert.rejects(proxies.join('demo/api', addresses), /answers for demo\/api already/);
    await web.leave();
    assert.deepEqual(addressesOf(await queryUdp('api.svc.mesh.local', 'A', port)), ['127.2.0.2']);
    assert.equal(await udpPortFree(port), false, 'still bound for the member left');
    await api.leave();
    assert.equal(await udpPortFree(port), true, 'closed with the last member');
    const again = await proxies.join('demo/web', addresses);
    assert.deepEqual(again.listening, addresses);
    await again.leave();
  });
});

describe('DNS proxy shared by dataplanes: addresses', () => {
  it('gives a dataplane asking for other addresses a proxy of its own, and refuses one that overlaps on the same port', async () => {
    const [port, other] = [await freeUdpPort(), await freeUdpPort()];
    const proxies = new DnsProxies({ logger: silent, clock: realClock, resolvConf: '/nonexistent' });
    const web = await proxies.join('demo/web', [{ host: '127.0.0.1', port }]);
    web.setNames([{ name: 'web.svc.mesh.local', ips: ['127.2.0.1'] }]);
    const api = await proxies.join('demo/api', [{ host: '127.0.0.1', port: other }]);
    api.setNames([{ name: 'api.svc.mesh.local', ips: ['127.2.0.2'] }]);
    assert.deepEqual(addressesOf(await queryUdp('api.svc.mesh.local', 'A', other)), ['127.2.0.2']);
    await assert.rejects(
      proxies.join('demo/tp', [
        { host: '127.0.0.2', port },
        { host: '127.0.0.1', port },
      ]),
      /the DNS proxy cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
    );
    assert.equal(await udpPortFree(port), false);
    assert.deepEqual(addressesOf(await queryUdp('web.svc.mesh.local', 'A', port)), ['127.2.0.1'], 'the first proxy is untouched');
    await Promise.all([web.leave(), api.leave()]);
    assert.equal(await udpPortFree(port), true);
    assert.equal(await udpPortFree(other), true);
  });
});

describe('DNS proxy readiness', () => {
  const dir = tempDir('kuma-dp-dns-ready-');

  async function startMember(options: { waitForRecords: boolean; clock: Clock; readiness: ReadinessGates }) {
    const proxies = new DnsProxies({ logger: silent, clock: options.clock, resolvConf: path.join(dir, 'none.conf') });
    const component = dnsComponent({ proxies, id: 'demo/web', addresses: [{ host: '127.0.0.1', port: 0 }], waitForRecords: options.waitForRecords, clock: options.clock });
    running.push(await component.start({ logger: silent, readiness: options.readiness }));
    return component;
  }

  it('holds readiness until the first /dns configuration', async () => {
    const clock = new ManualClock();
    const readiness = new ReadinessGates();
    const component = await startMember({ waitForRecords: true, clock, readiness });
    assert.equal(readiness.state, 'NOT_READY');
    assert.deepEqual(readiness.waitingFor, ['dns-records']);
    await clock.advance(FIRST_RECORDS_WAIT_MS - 1);
    assert.equal(readiness.state, 'NOT_READY');
    component.update({ ttl: 30, records: [] });
    assert.equal(readiness.state, 'READY');
    assert.deepEqual(clock.pending(), [], 'the 15s bound is cancelled');
  });

  it('turns ready anyway after 15s without one', async () => {
    const clock = new ManualClock();
    const readiness = new ReadinessGates();
    await startMember({ waitForRecords: true, clock, readiness });
    await clock.advance(14_999);
    assert.equal(readiness.state, 'NOT_READY');
    await clock.advance(1);
    assert.equal(readiness.state, 'READY');
  });

  it('adds no gate when kuma-cp sends no records (bind-outbounds, no DNS redirection)', async () => {
    const readiness = new ReadinessGates();
    const component = await startMember({ waitForRecords: false, clock: new ManualClock(), readiness });
    assert.deepEqual(readiness.waitingFor, []);
    assert.deepEqual(component.features, ['feature-embedded-dns']);
  });
});

describe('DNS proxy bind addresses', () => {
  const tp = (yaml: string) => parseTransparentProxyConfig([{ source: 'tp.yaml', text: yaml }], { enabled: true, proxyPort: 15053 });
  const hosts = (config: ReturnType<typeof tp> | undefined) => dnsBindAddresses(config, 15053).map((a) => `${a.host}:${a.port}`);

  it("follows Go kuma-dp's table (run_test.go), but never 0.0.0.0 without a transparent proxy", () => {
    assert.deepEqual(hosts(undefined), ['127.0.0.1:15053']);
    assert.deepEqual(hosts(tp('ipFamilyMode: ipv4')), ['127.0.0.1:15053']);
    assert.deepEqual(hosts(tp('ipFamilyMode: dualstack')), ['127.0.0.1:15053', '::1:15053']);
    assert.deepEqual(hosts(tp('ipFamilyMode: ipv4\nredirect:\n  vnet:\n    networks: ["docker0:172.17.0.0/16"]')), ['0.0.0.0:15053']);
    assert.deepEqual(hosts(tp('redirect:\n  vnet:\n    networks: ["docker0:172.17.0.0/16"]')), ['0.0.0.0:15053', ':::15053']);
  });

  it('reads the first nameserver of resolv.conf, as Go does', () => {
    assert.deepEqual(firstNameserver('# c\nsearch x\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n'), { address: '10.0.0.2', port: 53, family: 4 });
    assert.deepEqual(firstNameserver('nameserver fe80::1%eth0\n'), { address: 'fe80::1%eth0', port: 53, family: 6 });
    assert.equal(firstNameserver('nameserver not-an-ip\noptions ndots:5\n'), undefined);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { readAdminLog, readStarts } from '../stand-ins/envoy-records.js';
import { writeScenario, type BoundService } from '../stand-ins/scenario.js';
import { agentEnv, runAgent, tempDir, waitUntil } from './helpers/agent.js';
import { metricsSocketPath } from '../src/dataplane/sockets.js';
import { addressesOf, queryTcp, queryUdp, resolves, vip } from './helpers/dns.js';
import { sampleValues } from './helpers/metrics.js';
import { unixGet } from './helpers/unix-http.js';
import { readinessAnswer, startDataplane } from './helpers/readiness.js';

const run = promisify(execFile);
// Envoy's drain would hold every stop 30s.
const QUICK_STOP = ['--drain-time', '0s'];
const USER_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# the operator\'s own\n10.1.2.3 db.internal\n';


describe('kuma-dp run --bind-outbounds', () => {
  it('serves the mesh names of Envoy\'s listeners over DNS and in the hosts file, follows changes, and cleans up at exit', async () => {
    const dir = tempDir('kuma-dp-bind-');
    const hostsFile = path.join(dir, 'hosts');
    writeFileSync(hostsFile, USER_HOSTS);
    const scenario = path.join(dir, 'scenario.json');
    const ratings: BoundService = { kind: 'msvc', name: 'ratings', zone: 'zone-1', vip: vip(), ports: [{ port: 80, name: 'http' }] };
    const details: BoundService = { kind: 'msvc', name: 'details', zone: 'zone-2', vip: vip(), ports: [{ port: 9080 }] };
    writeScenario(scenario, { bindOutbounds: { mesh: 'bookinfo', zone: 'zone-1', services: [ratings, details] } });
    const dnsPort = await freePort();
    const { agent, cp } = await startDataplane([...QUICK_STOP, '--bind-outbounds', '--hosts-file', hostsFile, '--dns-proxy-port', String(dnsPort)], { FAKE_ENVOY_SCENARIO: scenario });

    const request = (await cp.waitForRequest()).body as Record<string, unknown>;
    assert.deepEqual((request.features as string[]).filter((f) => f.includes('dns') || f.includes('bind') || f.includes('transparent')).sort(), ['feature-bind-outbounds', 'feature-embedded-dns']);
    assert.equal(request.dnsPort, dnsPort);
    assert.equal(request.dataplaneConfig, undefined);

    await waitUntil(() => readFileSync(hostsFile, 'utf8').includes('ratings.svc.mesh.local'), 15_000, 'the hosts-file block');
    const withBlock = readFileSync(hostsFile, 'utf8');
    assert.ok(withBlock.startsWith(USER_HOSTS), 'the operator\'s lines stay as they were');
    assert.match(withBlock, new RegExp(`\\n${ratings.vip.replace(/\./g, '\\.')}\\tratings\\.svc\\.mesh\\.local\\n`));
    assert.match(withBlock, new RegExp(`\\n${details.vip.replace(/\./g, '\\.')}\\tdetails\\.svc\\.zone-2\\.mesh\\.local\\n`));

    assert.deepEqual(await resolves('ratings.svc.mesh.local', dnsPort), [ratings.vip]);
    assert.deepEqual(addressesOf(await queryTcp('details.svc.zone-2.mesh.local', 'A', dnsPort)), [details.vip]);

    // An application with no resolver change: curl resolves the name through the hosts file
    // (bind-mounted on /etc/hosts in a mount namespace of its own) and reaches Envoy's listener.
    const { stdout } = await run('unshare', ['-m', 'sh', '-c', `mount --bind "${hostsFile}" /etc/hosts && curl -sS --max-time 5 http://ratings.svc.mesh.local/`]);
    assert.equal(stdout.trim(), 'kri_msvc_bookinfo_zone-1__ratings_http');

    // kuma-cp adds a service: Envoy's listeners change, and so do the names.
    const reviews: BoundService = { kind: 'extsvc', name: 'reviews', vip: vip(), ports: [{ port: 9080 }] };
    writeScenario(scenario, { bindOutbounds: { mesh: 'bookinfo', zone: 'zone-1', services: [ratings, reviews] } });
    await waitUntil(async () => (await resolves('reviews.extsvc.mesh.local', dnsPort)).length > 0, 15_000, 'the new name');
    await waitUntil(() => readFileSync(hostsFile, 'utf8').includes('reviews.extsvc.mesh.local'), 15_000, 'the block to change');
    assert.doesNotMatch(readFileSync(hostsFile, 'utf8'), /details/);
    assert.deepEqual(await resolves('details.svc.zone-2.mesh.local', dnsPort), [], 'a name Envoy no longer serves is gone');

    // The proxy's metrics, as Go kuma-dp names them, on the dataplane's metrics socket.
    const scrape = await unixGet(metricsSocketPath(String(request.workdir), 'ratings-v1', 'bookinfo'), '/metrics');
    assert.equal(scrape.status, 200);
    const samples = sampleValues(scrape.body);
    assert.ok((samples.get('kuma_dp_dns_entries_total') ?? 0) >= 2, scrape.body);
    const answered = [...samples].filter(([key]) => key.startsWith('kuma_dp_dns_queries_total{')).reduce((sum, [, value]) => sum + value, 0);
    assert.ok(answered >= 3, `queries counted: ${answered}`);
    assert.match(scrape.body, /^# TYPE kuma_dp_dns_request_duration_seconds histogram$/m);

    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    assert.equal(readFileSync(hostsFile, 'utf8'), USER_HOSTS, 'at exit the file is byte for byte what it was');
  });

  it('keeps running, with one warning, when the hosts file cannot be written', async () => {
    const dir = tempDir('kuma-dp-bind-ro-');
    const scenario = path.join(dir, 'scenario.json');
    const ratings: BoundService = { kind: 'msvc', name: 'ratings', vip: vip(), ports: [{ port: 8080 }] };
    writeScenario(scenario, { bindOutbounds: { mesh: 'bookinfo', services: [ratings] } });
    const record = tempDir();
    const dnsPort = await freePort();
    const hostsFile = path.join(dir, 'no-such-dir', 'hosts');
    const { agent } = await startDataplane([...QUICK_STOP, '--bind-outbounds', '--hosts-file', hostsFile, '--dns-proxy-port', String(dnsPort)], {
      FAKE_ENVOY_SCENARIO: scenario,
      FAKE_ENVOY_RECORD_DIR: record,
    });
    await waitUntil(async () => (await resolves('ratings.svc.mesh.local', dnsPort)).length > 0, 15_000, 'the name over DNS');
    // Three more polls of Envoy's listener count: three more chances to warn again.
    const polls = () => readAdminLog(record).filter((entry) => entry.path.startsWith('/stats')).length;
    const seen = polls();
    await waitUntil(() => polls() >= seen + 3, 15_000, 'three more polls');
    const warnings = agent.lines.filter((line) => line.level === 40 && line.hostsFile === hostsFile);
    assert.equal(warnings.length, 1);
    assert.deepEqual(await resolves('ratings.svc.mesh.local', dnsPort), [ratings.vip]);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('keeps one block per dataplane when two agents share a hosts file', async () => {
    const dir = tempDir('kuma-dp-bind-two-');
    const hostsFile = path.join(dir, 'hosts');
    writeFileSync(hostsFile, USER_HOSTS);
    const start = async (name: string, service: BoundService) => {
      const scenario = path.join(dir, `${name}.json`);
      writeScenario(scenario, { bindOutbounds: { mesh: 'bookinfo', services: [service] } });
      return startDataplane([...QUICK_STOP, '--bind-outbounds', '--hosts-file', hostsFile, '--dns-proxy-port', String(await freePort())], {
        FAKE_ENVOY_SCENARIO: scenario,
        KUMA_DATAPLANE_NAME: name,
      });
    };
    const first = await start('productpage-v1', { kind: 'msvc', name: 'details', vip: vip(), ports: [{ port: 9080 }] });
    const second = await start('reviews-v1', { kind: 'msvc', name: 'ratings', vip: vip(), ports: [{ port: 9080 }] });
    await waitUntil(() => /details\.svc/.test(readFileSync(hostsFile, 'utf8')) && /ratings\.svc/.test(readFileSync(hostsFile, 'utf8')), 15_000, 'both blocks');
    first.agent.kill('SIGTERM');
    assert.equal((await first.agent.exited).code, 0);
    const left = readFileSync(hostsFile, 'utf8');
    assert.doesNotMatch(left, /details\.svc|productpage-v1/);
    assert.match(left, /# kuma-dp bookinfo\/reviews-v1 begin/);
    second.agent.kill('SIGTERM');
    assert.equal((await second.agent.exited).code, 0);
    assert.equal(readFileSync(hostsFile, 'utf8'), USER_HOSTS);
  });
});

describe('kuma-dp run --transparent-proxy-config', () => {
  it("sends kumactl's configuration as dataplaneConfig, and holds readiness for kuma-cp's DNS records", async () => {
    const dir = tempDir('kuma-dp-tp-');
    const config = path.join(dir, 'tp.yaml');
    // kumactl's own file has much more (iptables paths, excluded ports); only these reach kuma-cp.
    writeFileSync(config, 'kumaDPUser: kuma-dp\nipFamilyMode: ipv4\nredirect:\n  inbound:\n    port: 15006\n    excludePorts: [22]\n  outbound:\n    port: 15001\n  dns:\n    enabled: true\n    captureAll: true\n');
    const dnsPort = await freePort();
    const { agent, cp, readinessPort } = await startDataplane([...QUICK_STOP, '--transparent-proxy-config', config, '--dns-proxy-port', String(dnsPort)]);
    const request = (await cp.waitForRequest()).body as Record<string, unknown>;
    assert.deepEqual(request.dataplaneConfig, {
      ipFamilyMode: 'ipv4',
      redirect: { inbound: { enabled: true, port: 15006 }, outbound: { enabled: true, port: 15001 }, dns: { enabled: true, port: dnsPort }, vnet: {} },
    });
    assert.ok((request.features as string[]).includes('feature-transparent-proxy-in-dataplane-metadata'));
    assert.ok((request.features as string[]).includes('feature-embedded-dns'));
    assert.equal(request.dnsPort, dnsPort);
    await agent.waitFor('envoy-live', 15_000);
    assert.equal(await readinessAnswer(readinessPort), '503 NOT_READY', 'kuma-cp has not sent its DNS records yet');
    // It listens on 127.0.0.1 (ipv4 mode, no VNet) and answers whatever the upstream does, or
    // SERVFAIL within 2s: an answer comes either way.
    assert.equal((await queryUdp('backend.svc.mesh.local', 'A', dnsPort, '127.0.0.1', 5000)).questions![0]!.name, 'backend.svc.mesh.local');
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('refuses bad values with one line naming the flag, and starts nothing', async () => {
    const dir = tempDir('kuma-dp-tp-bad-');
    const record = tempDir();
    const cp = await startControlPlane({ generation: 'modern' });
    try {
      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(bad, 'ipFamilyMode: ipv5\n');
      const ports = path.join(dir, 'ports.yaml');
      writeFileSync(ports, 'redirect:\n  outbound:\n    port: 0\n');
      const cases: Array<[string[], RegExp]> = [
        [['--transparent-proxy-config', bad], /^kuma-dp: --transparent-proxy-config .*bad\.yaml: ipFamilyMode "ipv5" must be 'dualstack' or 'ipv4'$/],
        [['--transparent-proxy-config', ports], /^kuma-dp: --transparent-proxy-config .*ports\.yaml: redirect\.outbound\.port 0 is not a port/],
        [['--transparent-proxy-config', path.join(dir, 'missing.yaml')], /^kuma-dp: cannot read --transparent-proxy-config .*missing\.yaml: ENOENT$/],
        [['--transparent-proxy', '--dns-proxy-port', '70000'], /^kuma-dp: invalid --dns-proxy-port "70000"/],
        [['--hosts-file', path.join(dir, 'hosts')], /^kuma-dp: invalid --hosts-file: .*pass --bind-outbounds too$/],
        [['--bind-outbounds', '--dns-proxy-port', '9902', '--readiness-port', '9902'], /^kuma-dp: invalid --dns-proxy-port 9902: it is also the --readiness-port/],
      ];
      const env = (extra: Record<string, string> = {}) => agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', FAKE_ENVOY_RECORD_DIR: record, ...extra });
      const results = [
        ...(await Promise.all(cases.map(async ([args, expected]) => ({ args, expected, result: await runAgent(['run', ...args], { env: env() }) })))),
        { args: ['KUMA_DNS_ENABLED=maybe'], expected: /^kuma-dp: invalid KUMA_DNS_ENABLED "maybe"/, result: await runAgent(['run', '--bind-outbounds'], { env: env({ KUMA_DNS_ENABLED: 'maybe' }) }) },
      ];
      for (const { args, expected, result } of results) {
        assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr.trim(), expected);
      }
      assert.deepEqual(cp.requests, []);
      assert.deepEqual(readStarts(record), []);
    } finally {
      await cp.close();
    }
  });
});

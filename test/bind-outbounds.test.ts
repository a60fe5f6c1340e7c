import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostnameOf, outboundNames } from '../src/bind-outbounds/hostnames.js';
import { HostsFileBlock, withBlock } from '../src/bind-outbounds/hosts-file.js';
import { BoundOutbounds } from '../stand-ins/bound-outbounds.js';
import { writeScenario } from '../stand-ins/scenario.js';
import { tempDir, waitUntil } from './helpers/agent.js';

describe("bind-outbounds names, as kuma-cp's default hostname generators give them", () => {
  it('names each kind of service its listener serves', () => {
    // Local to this zone (Universal): local-universal-mesh-service.
    assert.equal(hostnameOf('kri_msvc_default___backend_tcp-port', undefined), 'backend.svc.mesh.local');
    assert.equal(hostnameOf('kri_msvc_default_zone-1__backend_80', 'zone-1'), 'backend.svc.mesh.local');
    // From another Universal zone, synced by global: synced-universal-mesh-service.
    assert.equal(hostnameOf('kri_msvc_default_zone-2__backend_80', 'zone-1'), 'backend.svc.zone-2.mesh.local');
    // From a Kubernetes zone: synced-kube-mesh-service.
    assert.equal(hostnameOf('kri_msvc_default_east_kuma-demo_redis_6379', 'zone-1'), 'redis.kuma-demo.svc.east.mesh.local');
    assert.equal(hostnameOf('kri_extsvc_default_zone-1_kuma-system_httpbin_443', 'zone-1'), 'httpbin.extsvc.mesh.local');
    assert.equal(hostnameOf('kri_mzsvc_default___payments_http', 'zone-1'), 'payments.mzsvc.mesh.local');
  });

  it('names nothing it cannot derive', () => {
    assert.equal(hostnameOf('outbound:127.2.0.1:80', 'zone-1'), undefined, 'kuma-cp 2.x without unified naming');
    assert.equal(hostnameOf('self_inbound_dp_3000', 'zone-1'), undefined);
    assert.equal(hostnameOf('kri_dp_default_zone-1__web_', 'zone-1'), undefined, 'a dataplane, not a service');
    assert.equal(hostnameOf('kri_msvc_default___Backend_80', undefined), undefined, 'not an RFC 1123 name, as kuma-cp refuses it');
    assert.equal(hostnameOf('kri_msvc_default___backend', undefined), undefined, 'not a KRI');
  });

  it('gives every name one address, in name order, and skips wildcard listeners', () => {
    const names = outboundNames(
      [
        { name: 'kri_msvc_default_zone-1__web_8080', address: '127.2.0.2', port: 8080 },
        { name: 'kri_msvc_default_zone-1__web_http', address: '127.2.0.2', port: 80 },
        { name: 'kri_msvc_default_zone-1__api_80', address: '127.2.0.1', port: 80 },
        { name: 'kri_msvc_default_zone-1__any_80', address: '0.0.0.0', port: 80 },
        { name: 'self_inbound_dp_3000', address: '10.0.0.7', port: 3000 },
      ],
      'zone-1',
    );
    assert.deepEqual(names, [
      { name: 'api.svc.mesh.local', ips: ['127.2.0.1'] },
      { name: 'web.svc.mesh.local', ips: ['127.2.0.2'] },
    ]);
  });
});

describe('the hosts-file block', () => {
  const dir = tempDir('kuma-dp-hosts-');
  const USER = '127.0.0.1\tlocalhost\n# my own note\n10.1.2.3 db.internal db\n';
  const ratings = [{ name: 'ratings.svc.mesh.local', ips: ['127.2.0.1'] }];

  it('is added at the end, replaced in place and removed, leaving every other byte as it was', () => {
    const added = withBlock(USER, 'bookinfo/ratings-v1', ratings);
    assert.ok(added.startsWith(USER));
    assert.match(added.slice(USER.length), /^# kuma-dp bookinfo\/ratings-v1 begin[^\n]*\n127\.2\.0\.1\tratings\.svc\.mesh\.local\n# kuma-dp bookinfo\/ratings-v1 end\n$/);
    const edited = `${added}# a line the user added after\n`;
    const changed = withBlock(edited, 'bookinfo/ratings-v1', [{ name: 'reviews.svc.mesh.local', ips: ['127.2.0.9'] }]);
    assert.ok(changed.startsWith(USER) && changed.endsWith('# kuma-dp bookinfo/ratings-v1 end\n# a line the user added after\n'));
    assert.match(changed, /127\.2\.0\.9\treviews/);
    assert.doesNotMatch(changed, /ratings\.svc/);
    assert.equal(withBlock(changed, 'bookinfo/ratings-v1', []), `${USER}# a line the user added after\n`);
  });

  it("keeps other agents' blocks and a last line without its newline untouched", () => {
    const two = withBlock(withBlock(USER, 'bookinfo/ratings-v1', ratings), 'bookinfo/reviews-v1', [{ name: 'details.svc.mesh.local', ips: ['127.2.0.4'] }]);
    const without = withBlock(two, 'bookinfo/ratings-v1', []);
    assert.equal(without, withBlock(USER, 'bookinfo/reviews-v1', [{ name: 'details.svc.mesh.local', ips: ['127.2.0.4'] }]));
    const noNewline = '127.0.0.1 localhost';
    const first = withBlock(noNewline, 'm/n', ratings);
    assert.ok(first.endsWith(noNewline));
    assert.equal(withBlock(first, 'm/n', []), noNewline);
    assert.throws(() => withBlock('# kuma-dp m/n begin: cut short\n1.2.3.4 x\n', 'm/n', ratings), /without its end line/);
  });

  it('writes the file atomically with its mode, and refuses links and files others can write', async () => {
    const file = path.join(dir, 'hosts');
    writeFileSync(file, USER);
    chmodSync(file, 0o644);
    const block = new HostsFileBlock(file, 'bookinfo/ratings-v1');
    await block.set(ratings);
    assert.match(readFileSync(file, 'utf8'), /ratings\.svc\.mesh\.local/);
    assert.equal(lstatSync(file).mode & 0o777, 0o644);
    assert.equal(block.changedSinceWritten(), false);
    writeFileSync(file, readFileSync(file, 'utf8').replace('db.internal', 'db2.internal'));
    assert.equal(block.changedSinceWritten(), true, 'an edit by someone else is noticed');
    await block.set([]);
    assert.equal(readFileSync(file, 'utf8'), USER.replace('db.internal', 'db2.internal'));
    assert.deepEqual(readdirSync(dir).filter((name) => name !== 'hosts'), [], 'no temp or lock file is left');

    const link = path.join(dir, 'hosts-link');
    symlinkSync(file, link);
    await assert.rejects(new HostsFileBlock(link, 'm/n').set(ratings), /symbolic link/);
    const open = path.join(dir, 'hosts-open');
    writeFileSync(open, USER);
    chmodSync(open, 0o666);
    await assert.rejects(new HostsFileBlock(open, 'm/n').set(ratings), /anyone can write it/);
    assert.equal(readFileSync(open, 'utf8'), USER);
  });

  it("takes over the lock of an agent that died holding it, and waits for a live one's", async () => {
    const file = path.join(dir, 'hosts-locked');
    writeFileSync(file, USER);
    // A pid that cannot exist: above the kernel's limit.
    writeFileSync(`${file}.kuma-dp.lock`, '4194305\n');
    await new HostsFileBlock(file, 'm/n').set(ratings);
    assert.match(readFileSync(file, 'utf8'), /ratings/);

    writeFileSync(`${file}.kuma-dp.lock`, `${process.pid}\n`);
    await assert.rejects(new HostsFileBlock(file, 'm/n').set([]), /holds .*\.kuma-dp\.lock/);
  });
});

describe("the fake Envoy's bind-outbounds listeners (CONTRACTS.md §3)", () => {
  it('names them by KRI, binds them on the VIP, and counts each scenario change as an LDS update', async () => {
    const dir = tempDir('kuma-dp-fake-lds-');
    const scenario = path.join(dir, 'scenario.json');
    const vip = `127.2.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    writeScenario(scenario, { bindOutbounds: { mesh: 'default', zone: 'zone-1', services: [{ kind: 'msvc', name: 'backend', vip, ports: [{ port: 18080, name: 'tcp-port' }] }] } });
    const outbounds = new BoundOutbounds(scenario, (message) => assert.fail(message));
    outbounds.sync();
    assert.equal(outbounds.updates, 1);
    assert.deepEqual(outbounds.statuses().map((s) => [s.name, s.local_address.socket_address.address, s.local_address.socket_address.port_value]), [
      ['self_inbound_dp_13000', '127.0.0.1', 13000],
      ['kri_msvc_default___backend_tcp-port', vip, 18080],
    ]);
    const inbound = outbounds.dynamicListeners('^(self_inbound_|inbound:).*') as Array<{ active_state: { listener: { metadata: { filter_metadata: Record<string, Record<string, string>> } } } }>;
    assert.equal(inbound.length, 1);
    assert.equal(inbound[0]!.active_state.listener.metadata.filter_metadata['io.kuma.tags']!['kuma.io/zone'], 'zone-1');
    await waitUntil(async () => (await fetch(`http://${vip}:18080/`).then((r) => r.text()).catch(() => '')) === 'kri_msvc_default___backend_tcp-port\n', 5000, 'the bound listener');
    outbounds.sync();
    assert.equal(outbounds.updates, 1, 'no change, no update');
    writeScenario(scenario, { bindOutbounds: { mesh: 'default', zone: 'zone-1', services: [] } });
    outbounds.sync();
    assert.equal(outbounds.updates, 2);
    await waitUntil(async () => (await fetch(`http://${vip}:18080/`).then(() => 'up').catch(() => 'gone')) === 'gone', 5000, 'the listener to go');
  });
});

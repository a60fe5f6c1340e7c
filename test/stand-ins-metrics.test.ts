// The metrics tests trust the fake Envoy's stats and dynamic configuration; these checks hold them
// to Envoy's shape (CONTRACTS.md §3, CASES.md §M) and kuma-cp's dynconf routes (CASES.md §H).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BUCKETS, EnvoyStats, MESH_CLUSTERS, SERIES_PER_CLUSTER, syntheticClusters } from '../stand-ins/envoy-stats.js';
import { tempDir } from './helpers/agent.js';
import { startFakeEnvoy } from './helpers/fake-envoy.js';
import { unixGet } from './helpers/unix-http.js';

const server = { live: true, state: 0, concurrency: 2, epoch: 0, uptimeSeconds: 3, xdsUpdates: 1 };
const sampleLines = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

describe("the fake Envoy's Prometheus stats", () => {
  it("have Envoy's shape: TYPE lines and no HELP, `{}` on untagged metrics, an empty line after each family", async () => {
    const envoy = await startFakeEnvoy(tempDir());
    if (envoy.admin.kind !== 'tcp') throw new Error('tcp admin expected');
    const answer = await fetch(`http://127.0.0.1:${envoy.admin.port}/stats?format=prometheus`);
    assert.equal(answer.headers.get('content-type'), 'text/plain; charset=UTF-8');
    const text = await answer.text();
    assert.ok(!text.includes('# HELP'));
    assert.match(text, /^# TYPE envoy_server_live gauge\nenvoy_server_live\{\} 1\n\n/m);
    for (const family of text.split('\n\n').filter(Boolean)) assert.match(family, /^# TYPE \S+ (counter|gauge|histogram)\n(\S+ \S+\n?)+$/);
    assert.ok(text.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="system_ads"} 1'), "the bootstrap's clusters");
    assert.ok(text.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="redis_kuma-demo_svc_6379-1a2b3c4d5e6f7a8b"} 101'), 'split clusters');
    assert.ok(text.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="kuma_envoy_admin"} 2'), "`:` of a cluster name written as `_`");
    assert.ok(!text.includes('text_value'), 'text readouts only when asked for');
    const withReadouts = await (await fetch(`http://127.0.0.1:${envoy.admin.port}/stats?format=prometheus&text_readouts=`)).text();
    assert.ok(withReadouts.includes('# TYPE envoy_control_plane_identifier gauge\nenvoy_control_plane_identifier{text_value="kuma-cp"} 0\n'));
  });

  it("have histograms with Envoy's default buckets, +Inf, sum and count", () => {
    const text = new EnvoyStats([{ name: 'a', requests: 3, connections: 1 }]).render(server, { textReadouts: false, usedOnly: false });
    const buckets = sampleLines(text).filter((line) => line.startsWith('envoy_cluster_upstream_rq_time_bucket'));
    assert.deepEqual(
      buckets.map((line) => /le="([^"]+)"/.exec(line)![1]),
      [...DEFAULT_BUCKETS.map(String), '+Inf'],
    );
    assert.ok(text.includes('envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="a"} 37.5\nenvoy_cluster_upstream_rq_time_count{envoy_cluster_name="a"} 3\n'));
    assert.ok(text.indexOf('# TYPE envoy_cluster_upstream_rq_time histogram') > text.indexOf('# TYPE envoy_server_uptime gauge'), 'histograms come last');
  });

  it('leave out stats never used with usedonly, and grow by the series a scenario asks for', () => {
    const used = new EnvoyStats([{ name: 'idle', requests: 0, connections: 0 }]).render({ ...server, epoch: 0 }, { textReadouts: false, usedOnly: true });
    assert.ok(!used.includes('envoy_cluster_name="idle"} 0'));
    assert.ok(!used.includes('envoy_server_hot_restart_epoch'));
    const base = sampleLines(new EnvoyStats(MESH_CLUSTERS).render(server, { textReadouts: false, usedOnly: false })).length;
    const big = sampleLines(new EnvoyStats(MESH_CLUSTERS, syntheticClusters(10_000)).render(server, { textReadouts: false, usedOnly: false })).length;
    assert.ok(big - base >= 10_000 && big - base < 10_000 + SERIES_PER_CLUSTER, `${big - base} more series`);
    assert.ok(syntheticClusters(100).every((cluster) => /-[0-9a-f]{16}$/.test(cluster.name)));
  });

  it('change every value of those series from one answer to the next with churn, and none without', () => {
    const options = { textReadouts: false, usedOnly: false };
    const extra = (text: string) => sampleLines(text).filter((line) => line.includes('svc-'));
    const still = new EnvoyStats(MESH_CLUSTERS, syntheticClusters(100));
    assert.deepEqual(extra(still.render(server, options)), extra(still.render(server, options)));
    const churning = new EnvoyStats(MESH_CLUSTERS, syntheticClusters(100), true);
    const [first, second] = [extra(churning.render(server, options)), extra(churning.render(server, options))];
    assert.equal(first.length, second.length);
    const counters = first.filter((line) => line.startsWith('envoy_cluster_upstream_rq_total'));
    assert.ok(counters.length > 0 && counters.every((line) => !second.includes(line)), 'every request counter moved');
  });
});

describe("the fake Envoy's dynamic configuration socket", () => {
  it('serves each path of the scenario with the Etag kuma-cp sets, 304 on If-None-Match, 404 elsewhere', async () => {
    const dns = { records: [{ name: 'backend.svc.mesh.local', ips: ['241.0.0.3', 'fd00::3'] }], ttl: 30 };
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/dns': dns, '/anything/else': [1, 2] } } });
    const socket = path.join(envoy.dir, 'kuma-mesh-metric-config.sock');
    const first = await unixGet(socket, '/dns');
    const etag = createHash('sha256').update(JSON.stringify(dns)).digest('hex');
    assert.deepEqual([first.status, first.headers.etag, JSON.parse(first.body)], [200, etag, dns]);
    const again = await unixGet(socket, '/dns', { headers: { 'if-none-match': etag } });
    assert.deepEqual([again.status, again.body], [304, '']);
    assert.equal((await unixGet(socket, '/dns', { headers: { 'if-none-match': 'stale' } })).status, 200);
    assert.deepEqual(JSON.parse((await unixGet(socket, '/anything/else')).body), [1, 2]);
    assert.equal((await unixGet(socket, '/meshmetric')).status, 404);
  });

  it('exists only when the scenario has dynamic configuration, and is left behind when Envoy dies', async () => {
    const plain = await startFakeEnvoy(tempDir());
    assert.ok(!existsSync(path.join(plain.dir, 'kuma-mesh-metric-config.sock')));
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: {} } });
    await envoy.kill();
    assert.ok(existsSync(path.join(envoy.dir, 'kuma-mesh-metric-config.sock')));
  });
});

// Kuma's rewrite of Envoy's metrics (the merged scrape) and MeshMetric's profiles and extra
// labels, on inputs of the project's own (the conformance run adds Kuma's fixtures).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { staticClusterNames } from '../src/metrics/bootstrap-clusters.js';
import { KNOWN_BOOTSTRAP_CLUSTERS, mergeClusters, unsplitClusterName } from '../src/metrics/merge.js';
import { EnvoyRewriter } from '../src/metrics/rewrite-plan.js';
import { parseMeshMetricConfig } from '../src/metrics/mesh-metric-config.js';
import { profileFilter, selectorFunction, type SidecarProfiles } from '../src/metrics/profiles.js';
import { meshMetricScrape, promLabelName, type Sources } from '../src/metrics/scrape.js';
import type { ScrapeTarget } from '../src/metrics/scraper.js';
import { parseText } from '../src/metrics/text-parse.js';
import { writeFamilies } from '../src/metrics/text-write.js';

const merge = (text: string, clusters?: ReadonlySet<string>) => writeFamilies(mergeClusters(parseText(text), clusters));
const lines = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

describe('the merged scrape rewrites Envoy as Kuma does', () => {
  it('takes the hash suffix kuma-cp puts on split clusters off, and only that', () => {
    assert.equal(unsplitClusterName('foo-service-5bac935803abcdd1'), 'foo-service');
    assert.equal(unsplitClusterName('foo-service-23a13cf720fd15c6'), 'foo-service');
    assert.equal(unsplitClusterName('foo-service-5BAC935803ABCDD1'), 'foo-service');
    assert.equal(unsplitClusterName('foo-service'), undefined);
    assert.equal(unsplitClusterName('foo-service-5bac935803abcdd'), undefined);
    assert.equal(unsplitClusterName('foo-service-5bac935803abcdd1x'), undefined);
  });

  it('sums the counters of split clusters and marks mesh clusters, but not the bootstrap or admin clusters', () => {
    const out = merge(
      '# TYPE rq counter\n' +
        'rq{envoy_cluster_name="redis-1a2b3c4d5e6f7a8b",code="200"} 101\n' +
        'rq{envoy_cluster_name="system_ads",code="200"} 5\n' +
        'rq{envoy_cluster_name="redis-9f8e7d6c5b4a3f2e",code="200"} 102\n' +
        'rq{envoy_cluster_name="redis-9f8e7d6c5b4a3f2e",code="503"} 3\n' +
        'rq{envoy_cluster_name="kuma_envoy_admin",code="200"} 2\n',
    );
    assert.deepEqual(lines(out), [
      'rq{envoy_cluster_name="redis",code="200",kuma_io_mesh_traffic="true"} 203',
      'rq{envoy_cluster_name="system_ads",code="200"} 5',
      'rq{envoy_cluster_name="redis",code="503",kuma_io_mesh_traffic="true"} 3',
      'rq{envoy_cluster_name="kuma_envoy_admin",code="200"} 2',
    ]);
  });

  it("takes the bootstrap's clusters from the bootstrap Envoy runs with", () => {
    const names = (yaml: string) => [...staticClusterNames(YAML.parseDocument(yaml))];
    const modern = YAML.parseDocument('node: {id: default.backend}\nstaticResources:\n  clusters:\n  - name: system_access_log_sink\n  - name: system_ads\n');
    assert.deepEqual([...staticClusterNames(modern)], ['system_access_log_sink', 'system_ads']);
    assert.deepEqual(names('static_resources:\n  clusters:\n  - name: ads_cluster\n'), ['ads_cluster']);
    assert.deepEqual(names('admin: {}\n'), []);
    assert.deepEqual(names('staticResources:\n  clusters:\n  - name: kuma:ads\n'), ['kuma:ads', 'kuma_ads'], 'as Envoy writes it in stat tags too');
    const text = '# TYPE c counter\nc{envoy_cluster_name="ads_cluster"} 1\n';
    assert.deepEqual(lines(merge(text)), ['c{envoy_cluster_name="ads_cluster"} 1'], 'v2.14 names are known by default');
    assert.deepEqual(lines(merge(text, staticClusterNames(modern))), ['c{envoy_cluster_name="ads_cluster",kuma_io_mesh_traffic="true"} 1']);
    assert.ok(KNOWN_BOOTSTRAP_CLUSTERS.has('system_ads'));
  });

  it('sums histograms per bucket and summaries per quantile, with their sums and counts', () => {
    const out = merge(
      '# TYPE t histogram\n' +
        't_bucket{envoy_cluster_name="s-1a2b3c4d5e6f7a8b",le="10"} 1\nt_bucket{envoy_cluster_name="s-1a2b3c4d5e6f7a8b",le="+Inf"} 2\n' +
        't_sum{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 15\nt_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 2\n' +
        't_bucket{envoy_cluster_name="s-9f8e7d6c5b4a3f2e",le="10"} 3\nt_bucket{envoy_cluster_name="s-9f8e7d6c5b4a3f2e",le="+Inf"} 3\n' +
        't_sum{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 6\nt_count{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 3\n' +
        '# TYPE q summary\n' +
        'q{envoy_cluster_name="s-1a2b3c4d5e6f7a8b",quantile="0.5"} 2\nq_sum{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 1000\nq_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 500\n' +
        'q{envoy_cluster_name="s-9f8e7d6c5b4a3f2e",quantile="0.5"} 3\nq_sum{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 600\nq_count{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 100\n',
    );
    assert.deepEqual(lines(out), [
      't_bucket{envoy_cluster_name="s",kuma_io_mesh_traffic="true",le="10"} 4',
      't_bucket{envoy_cluster_name="s",kuma_io_mesh_traffic="true",le="+Inf"} 5',
      't_sum{envoy_cluster_name="s",kuma_io_mesh_traffic="true"} 21',
      't_count{envoy_cluster_name="s",kuma_io_mesh_traffic="true"} 5',
      'q{envoy_cluster_name="s",kuma_io_mesh_traffic="true",quantile="0.5"} 5',
      'q_sum{envoy_cluster_name="s",kuma_io_mesh_traffic="true"} 1600',
      'q_count{envoy_cluster_name="s",kuma_io_mesh_traffic="true"} 600',
    ]);
  });

  it('marks HTTP connection managers but the admin ones, and leaves other families alone', () => {
    const out = merge(
      '# TYPE http counter\nhttp{envoy_http_conn_manager_prefix="inbound_8080"} 9\nhttp{envoy_http_conn_manager_prefix="admin"} 4\n' +
        'http{envoy_http_conn_manager_prefix="kuma_metrics_prometheus"} 1\n' +
        '# TYPE tcp gauge\ntcp{envoy_tcp_prefix="x-1a2b3c4d5e6f7a8b"} 1\ntcp{envoy_tcp_prefix="x-1a2b3c4d5e6f7a8b"} 2\n',
    );
    assert.deepEqual(lines(out), [
      'http{envoy_http_conn_manager_prefix="inbound_8080",kuma_io_mesh_traffic="true"} 9',
      'http{envoy_http_conn_manager_prefix="admin"} 4',
      'http{envoy_http_conn_manager_prefix="kuma_metrics_prometheus"} 1',
      'tcp{envoy_tcp_prefix="x-1a2b3c4d5e6f7a8b"} 1',
      'tcp{envoy_tcp_prefix="x-1a2b3c4d5e6f7a8b"} 2',
    ]);
  });

  it('keeps samples of a cluster family that lack the cluster label (Go drops all of Envoy then)', () => {
    assert.deepEqual(lines(merge('# TYPE c counter\nc{envoy_cluster_name="a-1a2b3c4d5e6f7a8b"} 1\nc{other="x"} 2\n')), [
      'c{envoy_cluster_name="a",kuma_io_mesh_traffic="true"} 1',
      'c{other="x"} 2',
    ]);
  });
});

describe("Envoy's rewrite, scrape after scrape", () => {
  const clusters = new Set(['system_ads']);
  const envoy = (requests: number, extra = '') =>
    '# TYPE envoy_cluster_upstream_rq_total counter\n' +
    `envoy_cluster_upstream_rq_total{envoy_cluster_name="redis-1a2b3c4d5e6f7a8b"} ${requests}\n` +
    `envoy_cluster_upstream_rq_total{envoy_cluster_name="redis-9f8e7d6c5b4a3f2e"} ${requests * 2}\n` +
    `envoy_cluster_upstream_rq_total{envoy_cluster_name="system_ads"} 1\n${extra}\n` +
    '# TYPE envoy_server_memory_allocated gauge\nenvoy_server_memory_allocated{} 9217064\n\n' +
    '# TYPE t histogram\n' +
    `t_bucket{envoy_cluster_name="s-1a2b3c4d5e6f7a8b",le="10"} ${requests}\nt_sum{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 1.5\n` +
    `t_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} ${requests}\n` +
    `t_bucket{envoy_cluster_name="s-9f8e7d6c5b4a3f2e",le="10"} 2\nt_bucket{envoy_cluster_name="s-9f8e7d6c5b4a3f2e",le="+Inf"} 3\n` +
    't_sum{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 0.25\nt_count{envoy_cluster_name="s-9f8e7d6c5b4a3f2e"} 3\n' +
    '# TYPE q summary\n' +
    `q{envoy_cluster_name="s-1a2b3c4d5e6f7a8b",quantile="0.5"} ${requests / 4}\nq_sum{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} 7\n` +
    `q_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"} ${requests + 0.75}\n`;
  const fresh = (text: string) => new EnvoyRewriter().rewrite(Buffer.from(text), clusters).toString();

  it('answers each later text as a rewrite from scratch would, whatever changed', () => {
    const rewriter = new EnvoyRewriter();
    const texts = [
      envoy(10),
      envoy(11),
      envoy(1e7),
      envoy(3, 'envoy_cluster_upstream_rq_total{envoy_cluster_name="new"} 4\n'),
      envoy(3, 'envoy_cluster_upstream_rq_total{envoy_cluster_name="new"} 5\n'),
      envoy(4).replace('9217064', '-2.5e-7'),
      envoy(4).replace('9217064', 'NaN'),
      envoy(4).replace('} 1\n', '} 1 1395066363000\n'),
      envoy(5).replace('redis-1a2b3c4d5e6f7a8b', 'rédis-1a2b3c4d5e6f7a8b'),
      envoy(5),
      envoy(6),
      envoy(6).replace('# TYPE envoy_server_memory_allocated gauge\n', ''),
      envoy(6).slice(0, -1),
      envoy(7),
      envoy(7),
      // Lines of the same length whose values stand still, but whose text changed: only a byte-wise comparison sees it.
      envoy(7).replace('name="system_ads"', 'name="system_adz"'),
      envoy(7),
      envoy(7).replace('rq_total counter', 'rq_total untyped'),
      envoy(7).replace('q_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8b"}', 'q_count{envoy_cluster_name="s-1a2b3c4d5e6f7a8c"}'),
      envoy(7),
      // The same, with values that change after the changed line.
      envoy(8).replace('name="system_ads"', 'name="system_adz"'),
      envoy(8),
    ];
    for (const [i, text] of texts.entries()) assert.equal(rewriter.rewrite(Buffer.from(text), clusters).toString(), fresh(text), `text ${i}`);
  });

  it('copies what stood still from the last answer, whichever numbers changed in between', () => {
    const rewriter = new EnvoyRewriter();
    const gauges = (values: number[]) => values.map((value, i) => `# TYPE g${i} gauge\ng${i}{envoy_cluster_name="c${i}"} ${value}\n`).join('');
    const base = Array.from({ length: 12 }, () => 1);
    const set = (changes: Record<number, number>) => base.map((value, i) => changes[i] ?? value);
    const texts = [base, set({ 5: 22 }), set({ 2: 333, 5: 22, 8: 4444 }), set({ 5: 1 }), base, set({ 0: 7, 11: 7 }), base.map((_, i) => i * 1000)];
    for (const [i, values] of texts.entries()) assert.equal(rewriter.rewrite(Buffer.from(gauges(values)), clusters).toString(), fresh(gauges(values)), `text ${i}`);
  });

  it('answers the same when the text arrives in pieces, into a buffer that grows', () => {
    const texts = [envoy(10), envoy(11), envoy(11), envoy(11).replace('name="system_ads"', 'name="system_adz"'), envoy(12).slice(0, -1), envoy(13), envoy(14)];
    // Which texts the compiled rewrite reads: those whose shape is the one before.
    const compiled = [false, true, true, false, false, false, true];
    for (const size of [1, 7, 64]) {
      const rewriter = new EnvoyRewriter();
      for (const [i, text] of texts.entries()) {
        const bytes = Buffer.from(text);
        const reading = rewriter.reading(clusters);
        let into = Buffer.alloc(16);
        for (let length = Math.min(size, bytes.length); ; length = Math.min(length + size, bytes.length)) {
          if (length > into.length) into = Buffer.concat([into, Buffer.alloc(into.length)]);
          bytes.copy(into, 0, 0, length);
          reading.progress(into, length);
          if (length === bytes.length) break;
        }
        const rewritten = reading.finish(into.subarray(0, bytes.length), (n) => Buffer.alloc(n));
        assert.equal(rewritten.toString(), fresh(text), `text ${i} in pieces of ${size}`);
        assert.equal(reading.followsPlan, compiled[i], `text ${i} in pieces of ${size}: read by the compiled rewrite`);
      }
    }
  });

  it("refuses what a rewrite from scratch refuses, even when the shape is the known one", () => {
    const rewriter = new EnvoyRewriter();
    rewriter.rewrite(Buffer.from(envoy(10)), clusters);
    assert.throws(() => rewriter.rewrite(Buffer.from(envoy(-1)), clusters), /negative bucket population for histogram "t"/);
    assert.throws(() => rewriter.rewrite(Buffer.from(envoy(10).replace('} 1\n', '} one\n')), clusters), /expected float as value, got "one"/);
    assert.equal(rewriter.rewrite(Buffer.from(envoy(12)), clusters).toString(), fresh(envoy(12)));
  });

  it("starts over when the bootstrap's clusters change, and copes with a family that comes back", () => {
    const rewriter = new EnvoyRewriter();
    const text = '# TYPE c counter\nc{envoy_cluster_name="ads_cluster"} 1\n';
    assert.ok(!rewriter.rewrite(Buffer.from(text), new Set(['ads_cluster'])).toString().includes('kuma_io_mesh_traffic'));
    assert.ok(rewriter.rewrite(Buffer.from(text), new Set(['system_ads'])).toString().includes('kuma_io_mesh_traffic'));
    const revisited = '# TYPE a counter\na{x="1"} 1\n# TYPE b counter\nb 2\na{x="2"} 3\n';
    assert.equal(rewriter.rewrite(Buffer.from(revisited), clusters).toString(), writeFamilies(mergeClusters(parseText(revisited), clusters)).replace(/\n\n/g, '\n'));
  });
});

describe('MeshMetric profiles', () => {
  const families = parseText(
    '# TYPE envoy_cluster_upstream_rq_total counter\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 5\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="system_ads"} 1\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="_kuma_metrics_opentelemetry"} 1\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="kuma_envoy_admin"} 1\n' +
      '# TYPE envoy_cluster_lb_subsets_active gauge\nenvoy_cluster_lb_subsets_active{envoy_cluster_name="backend"} 0\n' +
      '# TYPE envoy_rbac_allowed counter\nenvoy_rbac_allowed{envoy_http_conn_manager_prefix="ads_cluster"} 1\n' +
      '# TYPE envoy_server_live gauge\nenvoy_server_live 1\n',
  );
  const keep = (sidecar: SidecarProfiles | undefined) => profileFilter(sidecar)(families).map((f) => [f.name, f.metrics.length]);

  it("Basic is the default: the dashboards' metrics, without Kuma's internal clusters", () => {
    const basic = [
      ['envoy_cluster_upstream_rq_total', 1],
      ['envoy_server_live', 1],
    ];
    assert.deepEqual(keep(undefined), basic);
    assert.deepEqual(keep({ profiles: { appendProfiles: [] } }), basic);
    assert.deepEqual(keep({ profiles: { appendProfiles: [{ name: 'Basic' }] } }), basic, 'envoy_rbac_allowed is selected but all its samples are internal');
  });

  it('the broadest profile wins: All keeps everything, None nothing', () => {
    assert.deepEqual(keep({ profiles: { appendProfiles: [{ name: 'None' }, { name: 'All' }] } }), families.map((f) => [f.name, f.metrics.length]));
    assert.deepEqual(keep({ profiles: { appendProfiles: [{ name: 'None' }] } }), []);
    assert.deepEqual(keep({ profiles: { appendProfiles: [{ name: 'None' }, { name: 'Basic' }] } }).length, 2);
  });

  it('exclude drops from the profile, include adds back and wins over exclude', () => {
    assert.deepEqual(keep({ profiles: { appendProfiles: [{ name: 'All' }], exclude: [{ type: 'Regex', match: 'envoy_rbac.*' }] } }).map(([n]) => n), [
      'envoy_cluster_upstream_rq_total',
      'envoy_cluster_lb_subsets_active',
      'envoy_server_live',
    ]);
    assert.deepEqual(
      keep({
        profiles: {
          appendProfiles: [{ name: 'None' }],
          include: [{ type: 'Prefix', match: 'envoy_server' }, { type: 'Exact', match: 'envoy_cluster_lb_subsets_active' }],
          exclude: [{ type: 'Contains', match: 'server' }],
        },
      }),
      [
        ['envoy_cluster_lb_subsets_active', 1],
        ['envoy_server_live', 1],
      ],
    );
  });

  it('selectors: Prefix, Exact, Contains and RE2 Regex (unanchored, a leading flag group, a bad one selects nothing)', () => {
    assert.ok(selectorFunction({ type: 'Prefix', match: 'envoy_' })('envoy_x'));
    assert.ok(!selectorFunction({ type: 'Exact', match: 'envoy_' })('envoy_x'));
    assert.ok(selectorFunction({ type: 'Contains', match: 'rq' })('envoy_rq_total'));
    assert.ok(selectorFunction({ type: 'Regex', match: 'rq_t' })('envoy_rq_total'));
    assert.ok(selectorFunction({ type: 'Regex', match: '(?i)RQ_T' })('envoy_rq_total'));
    assert.ok(!selectorFunction({ type: 'Regex', match: '(' })('('));
  });
});

describe('the MeshMetric scrape', () => {
  const target = (name: string): ScrapeTarget => ({ name, url: `http://${name}/` });
  const sources = (bodies: Record<string, string>, failed: string[] = []): Sources => ({
    applications: [target('app'), target('broken')],
    envoy: target('envoy'),
    fetch: async (t) => {
      if (!(t.name in bodies)) throw new Error('connection refused');
      return { body: Buffer.from(bodies[t.name]!), format: 'text' };
    },
    own: async () => '# HELP kuma_dp_envoy_up 1 while an Envoy process runs\n# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up 1\n',
    failed: (t, error) => failed.push(`${t.name}: ${error.message}`),
  });

  it('serves apps, Envoy through the profiles and the agent, each sample with the extra labels', async () => {
    const failed: string[] = [];
    const body = await meshMetricScrape(
      sources(
        {
          app: '# TYPE app_requests_total counter\napp_requests_total{route="/",mesh="old"} 5\n',
          envoy: '# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n# TYPE envoy_cluster_lb_subsets_active gauge\nenvoy_cluster_lb_subsets_active{envoy_cluster_name="a"} 0\n',
        },
        failed,
      ),
      profileFilter(undefined),
      { mesh: 'default', 'kuma.proxy_role': 'sidecar', '9lives': 'x' },
    );
    assert.equal(
      body,
      '# TYPE app_requests_total counter\napp_requests_total{route="/",mesh="default",kuma_proxy_role="sidecar",key_9lives="x"} 5\n' +
        '# TYPE envoy_server_live gauge\nenvoy_server_live{mesh="default",kuma_proxy_role="sidecar",key_9lives="x"} 1\n' +
        '# HELP kuma_dp_envoy_up 1 while an Envoy process runs\n# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up{mesh="default",kuma_proxy_role="sidecar",key_9lives="x"} 1\n',
    );
    assert.deepEqual(failed, ['broken: connection refused']);
  });

  it('leaves out a source whose text does not parse, and writes a family two sources share once', async () => {
    const failed: string[] = [];
    const body = await meshMetricScrape(
      sources({ app: '# TYPE shared gauge\nshared{from="app"} 1\n', broken: 'not metrics {', envoy: '# TYPE shared gauge\nshared{from="envoy"} 2\n' }, failed),
      (families) => [...families],
      {},
    );
    assert.equal(body, '# TYPE shared gauge\nshared{from="app"} 1\nshared{from="envoy"} 2\n# HELP kuma_dp_envoy_up 1 while an Envoy process runs\n# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up 1\n');
    assert.equal(failed.length, 1);
    assert.match(failed[0]!, /^broken: text format parsing error in line 1/);
  });

  it('names labels as Prometheus text needs them', () => {
    assert.equal(promLabelName('kuma.io/zone'), 'kuma_io_zone');
    assert.equal(promLabelName('ok_name'), 'ok_name');
    assert.equal(promLabelName('1st'), 'key_1st');
  });
});

describe("kuma-cp's /meshmetric configuration", () => {
  it('reads the payload kuma-cp sends', () => {
    const config = parseMeshMetricConfig(
      JSON.parse(
        '{"observability":{"metrics":{"applications":[{"path":"/metrics","port":8080,"address":""},{"name":"b","path":"/m","port":9090,"address":"10.0.0.2"}],' +
          '"backends":[{"type":"Prometheus","name":null}],"sidecar":{"includeUnused":false,"profiles":{"appendProfiles":[{"name":"All"}],' +
          '"exclude":[{"type":"Regex","match":"envoy_rbac.*"}]}},"extraLabels":{"kuma.proxy_role":"sidecar","mesh":"default"}}}}',
      ),
    );
    assert.deepEqual(config, {
      applications: [
        { address: '', port: 8080, path: '/metrics' },
        { name: 'b', address: '10.0.0.2', port: 9090, path: '/m' },
      ],
      extraLabels: { 'kuma.proxy_role': 'sidecar', mesh: 'default' },
      sidecar: { includeUnused: false, profiles: { appendProfiles: [{ name: 'All' }], include: [], exclude: [{ type: 'Regex', match: 'envoy_rbac.*' }] } },
    });
    assert.deepEqual(parseMeshMetricConfig({ observability: { metrics: { applications: null, extraLabels: null } } }), { applications: [], extraLabels: {} });
  });

  it('refuses what is not one, saying what is wrong', () => {
    assert.throws(() => parseMeshMetricConfig({}), /no observability.metrics object/);
    assert.throws(() => parseMeshMetricConfig({ observability: { metrics: { applications: [{ path: '/m' }] } } }), /applications\[0\] needs a path and a port/);
    assert.throws(
      () => parseMeshMetricConfig({ observability: { metrics: { sidecar: { profiles: { appendProfiles: [{ name: 'Most' }] } } } } }),
      /appendProfiles\[0\] is not one of All, Basic, None/,
    );
    assert.throws(() => parseMeshMetricConfig({ observability: { metrics: { sidecar: { profiles: { include: [{ type: 'Glob', match: '*' }] } } } } }), /include\[0\]/);
    assert.throws(() => parseMeshMetricConfig({ observability: { metrics: { extraLabels: { a: 1 } } } }), /extraLabels.a is not a string/);
  });
});

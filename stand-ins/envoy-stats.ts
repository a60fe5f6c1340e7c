// What the fake Envoy answers on `/stats?format=prometheus`, in Envoy's own shape (CONTRACTS.md §3,
// kuma-fixtures CASES.md §M): counters, then gauges, then text readouts, then histograms, each
// family a `# TYPE` line (never `# HELP`), its samples and an empty line; `{}` on untagged
// metrics; tags extracted as `envoy_cluster_name`, `envoy_http_conn_manager_prefix`,
// `envoy_response_code_class`; histograms with Envoy's default buckets. Shared with the tests
// and the bench, which compute what the agent must make of it.

/** Envoy's default histogram buckets (ms). */
export const DEFAULT_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** A cluster with traffic: its requests all took between 10 and 25 ms. */
export interface StatsCluster {
  readonly name: string;
  readonly requests: number;
  readonly connections: number;
}

/**
 * kuma-cp's clusters of a sidecar of `backend` calling `redis`: a service split in two clusters
 * (`<name>-<16 hex>`, which the merged scrape sums), the inbound's local cluster and the admin
 * (`kuma:envoy:admin`: Envoy writes `:` in a stat tag as `_`).
 */
export const MESH_CLUSTERS: readonly StatsCluster[] = [
  { name: 'redis_kuma-demo_svc_6379-1a2b3c4d5e6f7a8b', requests: 101, connections: 11 },
  { name: 'redis_kuma-demo_svc_6379-9f8e7d6c5b4a3f2e', requests: 102, connections: 12 },
  { name: 'localhost_8080', requests: 7, connections: 3 },
  { name: 'kuma_envoy_admin', requests: 2, connections: 1 },
];

/** HTTP connection managers: the inbound's and the admin's. */
export const HTTP_PREFIXES: ReadonlyArray<{ readonly prefix: string; readonly requests: number }> = [
  { prefix: 'inbound_10_0_0_1_8080', requests: 9 },
  { prefix: 'admin', requests: 4 },
];

export interface ServerState {
  readonly live: boolean;
  /** Envoy's server.state gauge: 0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING. */
  readonly state: number;
  readonly concurrency: number;
  readonly epoch: number;
  readonly uptimeSeconds: number;
  readonly xdsUpdates: number;
}

export interface StatsOptions {
  /** `text_readouts` in the query: text readouts as gauges with a `text_value` label. */
  readonly textReadouts: boolean;
  /** `usedonly` in the query: stats never touched (zero here) are left out. */
  readonly usedOnly: boolean;
}

/** Series of one synthetic cluster: 3 counters, 1 gauge, a histogram of 19 buckets + Inf + sum + count. */
export const SERIES_PER_CLUSTER = 26;

/** Extra split clusters for about `series` more series: the size of a large mesh's Envoy. */
export function syntheticClusters(series: number): StatsCluster[] {
  const clusters: StatsCluster[] = [];
  for (let i = 0; i < Math.ceil(series / SERIES_PER_CLUSTER); i++) {
    const service = Math.floor(i / 2);
    const hash = (0x1000000000000000n + BigInt(i) * 0x9e3779b97f4a7c1n).toString(16).slice(-16);
    clusters.push({ name: `svc-${service}_kuma-demo_svc_80-${hash}`, requests: i % 7, connections: i % 3 });
  }
  return clusters;
}

interface FamilyText {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly lines: string;
}

function clusterFamilies(clusters: readonly StatsCluster[], usedOnly: boolean): Map<string, FamilyText> {
  const lines = { cx: '', rq: '', xx: '', healthy: '', time: '' };
  for (const c of clusters) {
    const tag = `envoy_cluster_name="${statTag(c.name)}"`;
    if (!usedOnly || c.connections) lines.cx += `envoy_cluster_upstream_cx_total{${tag}} ${c.connections}\n`;
    if (!usedOnly || c.requests) lines.rq += `envoy_cluster_upstream_rq_total{${tag}} ${c.requests}\n`;
    if (!usedOnly || c.requests) lines.xx += `envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",${tag}} ${c.requests}\n`;
    lines.healthy += `envoy_cluster_membership_healthy{${tag}} 1\n`;
    if (usedOnly && !c.requests) continue;
    for (const bound of DEFAULT_BUCKETS) lines.time += `envoy_cluster_upstream_rq_time_bucket{${tag},le="${bound}"} ${bound >= 25 ? c.requests : 0}\n`;
    lines.time += `envoy_cluster_upstream_rq_time_bucket{${tag},le="+Inf"} ${c.requests}\n`;
    lines.time += `envoy_cluster_upstream_rq_time_sum{${tag}} ${c.requests * 12.5}\n`;
    lines.time += `envoy_cluster_upstream_rq_time_count{${tag}} ${c.requests}\n`;
  }
  return new Map<string, FamilyText>([
    ['envoy_cluster_upstream_cx_total', { name: 'envoy_cluster_upstream_cx_total', type: 'counter', lines: lines.cx }],
    ['envoy_cluster_upstream_rq_total', { name: 'envoy_cluster_upstream_rq_total', type: 'counter', lines: lines.rq }],
    ['envoy_cluster_upstream_rq_xx', { name: 'envoy_cluster_upstream_rq_xx', type: 'counter', lines: lines.xx }],
    ['envoy_cluster_membership_healthy', { name: 'envoy_cluster_membership_healthy', type: 'gauge', lines: lines.healthy }],
    ['envoy_cluster_upstream_rq_time', { name: 'envoy_cluster_upstream_rq_time', type: 'histogram', lines: lines.time }],
  ]);
}

/** A cluster name as Envoy writes it in a stat tag. */
export function statTag(name: string): string {
  return name.replace(/:/g, '_');
}

/** Renders Envoy's Prometheus text; `extra` (from syntheticClusters) is rendered once per option set and reused. */
export class EnvoyStats {
  private readonly cache = new Map<string, Map<string, FamilyText>>();

  /** Answers given: with churn, every extra cluster's counters have grown by one per answer. */
  private answers = 0;

  constructor(
    private readonly clusters: readonly StatsCluster[],
    private readonly extra: readonly StatsCluster[] = [],
    private readonly churn = false,
  ) {}

  render(server: ServerState, options: StatsOptions): string {
    const key = String(options.usedOnly);
    let extra = this.cache.get(key);
    if (this.churn) {
      const grown = ++this.answers;
      extra = clusterFamilies(this.extra.map((c) => ({ ...c, requests: c.requests + grown, connections: c.connections + grown })), options.usedOnly);
    } else if (!extra) {
      extra = clusterFamilies(this.extra, options.usedOnly);
      this.cache.set(key, extra);
    }
    const own = clusterFamilies(this.clusters, options.usedOnly);
    const untagged = (name: string, value: number) => (options.usedOnly && value === 0 ? '' : `${name}{} ${value}\n`);
    const http = HTTP_PREFIXES.map((h) => `envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="${h.prefix}"} ${h.requests}\n`).join('');
    const families: FamilyText[] = [
      { name: 'envoy_cluster_manager_cds_update_attempt', type: 'counter', lines: untagged('envoy_cluster_manager_cds_update_attempt', server.xdsUpdates) },
      { name: 'envoy_cluster_manager_cds_update_success', type: 'counter', lines: untagged('envoy_cluster_manager_cds_update_success', server.xdsUpdates) },
      ...['envoy_cluster_upstream_cx_total', 'envoy_cluster_upstream_rq_total', 'envoy_cluster_upstream_rq_xx'].map((name) => ({
        name,
        type: 'counter' as const,
        lines: own.get(name)!.lines + extra.get(name)!.lines,
      })),
      { name: 'envoy_http_downstream_rq_total', type: 'counter', lines: http },
      { name: 'envoy_listener_manager_lds_update_attempt', type: 'counter', lines: untagged('envoy_listener_manager_lds_update_attempt', server.xdsUpdates) },
      { name: 'envoy_listener_manager_lds_update_success', type: 'counter', lines: untagged('envoy_listener_manager_lds_update_success', server.xdsUpdates) },
      { name: 'envoy_cluster_membership_healthy', type: 'gauge', lines: own.get('envoy_cluster_membership_healthy')!.lines + extra.get('envoy_cluster_membership_healthy')!.lines },
      { name: 'envoy_server_concurrency', type: 'gauge', lines: untagged('envoy_server_concurrency', server.concurrency) },
      { name: 'envoy_server_hot_restart_epoch', type: 'gauge', lines: untagged('envoy_server_hot_restart_epoch', server.epoch) },
      { name: 'envoy_server_live', type: 'gauge', lines: untagged('envoy_server_live', server.live ? 1 : 0) },
      { name: 'envoy_server_memory_allocated', type: 'gauge', lines: untagged('envoy_server_memory_allocated', 9217064) },
      { name: 'envoy_server_state', type: 'gauge', lines: untagged('envoy_server_state', server.state) },
      { name: 'envoy_server_uptime', type: 'gauge', lines: untagged('envoy_server_uptime', server.uptimeSeconds) },
      ...(options.textReadouts
        ? [{ name: 'envoy_control_plane_identifier', type: 'gauge' as const, lines: 'envoy_control_plane_identifier{text_value="kuma-cp"} 0\n' }]
        : []),
      { name: 'envoy_cluster_upstream_rq_time', type: 'histogram', lines: own.get('envoy_cluster_upstream_rq_time')!.lines + extra.get('envoy_cluster_upstream_rq_time')!.lines },
    ];
    return families
      .filter((family) => family.lines !== '')
      .map((family) => `# TYPE ${family.name} ${family.type}\n${family.lines}\n`)
      .join('');
  }
}

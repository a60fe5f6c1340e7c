import { labelValue, type Family, type Metric } from './model.js';

export const CLUSTER_LABEL = 'envoy_cluster_name';
export const HTTP_PREFIX_LABEL = 'envoy_http_conn_manager_prefix';
export const MESH_TRAFFIC_LABEL = 'kuma_io_mesh_traffic';

/**
 * The clusters kuma-cp puts in every bootstrap, whose traffic is the dataplane's own. Kuma at HEAD
 * names them `system_ads` and `system_access_log_sink`; v2.14 without unified naming
 * `ads_cluster` and `access_log_sink`. The agent takes them from the bootstrap Envoy runs with
 * (see bootstrap-clusters.ts); this set stands in when there is none yet.
 */
export const KNOWN_BOOTSTRAP_CLUSTERS: ReadonlySet<string> = new Set(['system_ads', 'system_access_log_sink', 'ads_cluster', 'access_log_sink']);
const NOT_MESH_CLUSTERS: ReadonlySet<string> = new Set(['kuma_envoy_admin', 'kuma_metrics_hijacker']);
const NOT_MESH_HTTP_PREFIXES: ReadonlySet<string> = new Set(['admin', 'kuma_envoy_admin', 'kuma_metrics_prometheus']);

/** kuma-cp names a split cluster `<name>-<16 hex digits>` (a hash of its tags). */
const SPLIT_CLUSTER = /^(.*)-[0-9a-fA-F]{16}$/;

/** The cluster name without kuma-cp's hash suffix, or undefined when it has none. */
export function unsplitClusterName(cluster: string): string | undefined {
  return SPLIT_CLUSTER.exec(cluster)?.[1];
}

/**
 * Kuma's rewrite of Envoy's metrics for the merged scrape (MergeClustersForPrometheus). In a family
 * whose first sample has `envoy_cluster_name`: split clusters lose their hash suffix, samples with
 * equal labels are summed (per bucket and per quantile too), and samples of mesh clusters get
 * `kuma_io_mesh_traffic="true"`. In a family whose first sample has
 * `envoy_http_conn_manager_prefix` instead, samples of every connection manager but the admin
 * ones get the label. Other families are left alone. Merged samples keep the place of the first
 * one, so the order is stable.
 */
export function mergeClusters(families: readonly Family[], bootstrapClusters: ReadonlySet<string> = KNOWN_BOOTSTRAP_CLUSTERS): Family[] {
  const isMeshCluster = (cluster: string | undefined) =>
    cluster !== undefined && !bootstrapClusters.has(cluster) && !NOT_MESH_CLUSTERS.has(cluster);
  return families.map((family) => {
    const first = family.metrics[0];
    if (!first) return family;
    if (labelValue(first, CLUSTER_LABEL) !== undefined) {
      const metrics = sumDuplicates(family.metrics.map(unsplit));
      for (const metric of metrics) if (isMeshCluster(labelValue(metric, CLUSTER_LABEL))) markMeshTraffic(metric);
      return { ...family, metrics };
    }
    if (labelValue(first, HTTP_PREFIX_LABEL) !== undefined) {
      const metrics = family.metrics.map((metric) => {
        const prefix = labelValue(metric, HTTP_PREFIX_LABEL);
        return prefix !== undefined && !NOT_MESH_HTTP_PREFIXES.has(prefix) ? markMeshTraffic({ ...metric, labels: [...metric.labels] }) : metric;
      });
      return { ...family, metrics };
    }
    return family;
  });
}

function unsplit(metric: Metric): Metric {
  const labels = metric.labels;
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] !== CLUSTER_LABEL) continue;
    const name = unsplitClusterName(labels[i + 1]!);
    if (name === undefined) return metric;
    const renamed = [...labels];
    renamed[i + 1] = name;
    return { ...metric, labels: renamed };
  }
  return metric;
}

function markMeshTraffic(metric: Metric): Metric {
  if (labelValue(metric, MESH_TRAFFIC_LABEL) === undefined) metric.labels.push(MESH_TRAFFIC_LABEL, 'true');
  return metric;
}

/** Go's hash of a metric: its labels as a set. */
function labelKey(labels: readonly string[]): string {
  if (labels.length === 2) return `${labels[0]}=${labels[1]}`;
  const pairs: string[] = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push(`${labels[i]}=${labels[i + 1]}`);
  return pairs.sort().join(';');
}

/** Sums the samples that have the same labels into one; the result is new metrics, the input is not changed. */
function sumDuplicates(metrics: readonly Metric[]): Metric[] {
  const merged = new Map<string, Metric>();
  for (const metric of metrics) {
    const key = labelKey(metric.labels);
    const into = merged.get(key);
    if (!into) {
      // Go's merged metric has no timestamp.
      merged.set(key, {
        labels: [...metric.labels],
        value: metric.value,
        sum: metric.sum,
        count: metric.count,
        ...(metric.points && { points: new Map(metric.points) }),
      });
      continue;
    }
    into.value += metric.value;
    into.sum += metric.sum;
    into.count += metric.count;
    if (metric.points) {
      into.points ??= new Map();
      for (const [bound, value] of metric.points) into.points.set(bound, (into.points.get(bound) ?? 0) + value);
    }
  }
  return [...merged.values()];
}

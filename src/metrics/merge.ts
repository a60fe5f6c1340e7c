import { labelValue, setPoint, type Family, type Metric } from './model.js';

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
 * Kuma's rewrite of Envoy's metrics for the merged scrape (MergeClustersForPrometheus), in place
 * (as Go's): in a family whose first sample has `envoy_cluster_name`, split clusters lose their
 * hash suffix, samples with equal labels are summed (per bucket and per quantile too), and samples
 * of mesh clusters get `kuma_io_mesh_traffic="true"`. In a family whose first sample has
 * `envoy_http_conn_manager_prefix` instead, samples of every connection manager but the admin
 * ones get the label. Other families are left alone. A merged sample keeps the place of the first
 * of its kind, so the order is stable.
 */
export function mergeClusters(families: Family[], bootstrapClusters: ReadonlySet<string> = KNOWN_BOOTSTRAP_CLUSTERS): Family[] {
  return families.map(clusterMerge(bootstrapClusters));
}

/**
 * mergeClusters one family at a time, for families read as a stream; `merged` is told of each
 * sample summed into another.
 */
export function clusterMerge(
  bootstrapClusters: ReadonlySet<string> = KNOWN_BOOTSTRAP_CLUSTERS,
  merged?: (from: Metric, into: Metric) => void,
): (family: Family) => Family {
  const isMeshCluster = (cluster: string | undefined) =>
    cluster !== undefined && !bootstrapClusters.has(cluster) && !NOT_MESH_CLUSTERS.has(cluster);
  // A few hundred clusters name tens of thousands of samples.
  const unsplitNames = new Map<string, string>();
  const unsplit = (cluster: string) => {
    let name = unsplitNames.get(cluster);
    if (name === undefined) {
      name = unsplitClusterName(cluster) ?? cluster;
      unsplitNames.set(cluster, name);
    }
    return name;
  };
  return (family) => {
    const first = family.metrics[0];
    if (!first) return family;
    if (labelValue(first, CLUSTER_LABEL) !== undefined) {
      for (const metric of family.metrics) renameCluster(metric, unsplit);
      family.metrics = sumDuplicates(family.metrics, merged);
      for (const metric of family.metrics) if (isMeshCluster(labelValue(metric, CLUSTER_LABEL))) markMeshTraffic(metric);
    } else if (labelValue(first, HTTP_PREFIX_LABEL) !== undefined) {
      for (const metric of family.metrics) {
        const prefix = labelValue(metric, HTTP_PREFIX_LABEL);
        if (prefix !== undefined && !NOT_MESH_HTTP_PREFIXES.has(prefix)) markMeshTraffic(metric);
      }
    }
    return family;
  };
}

function renameCluster(metric: Metric, unsplit: (cluster: string) => string): void {
  const labels = metric.labels;
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === CLUSTER_LABEL) {
      labels[i + 1] = unsplit(labels[i + 1]!);
      return;
    }
  }
}

function markMeshTraffic(metric: Metric): void {
  if (labelValue(metric, MESH_TRAFFIC_LABEL) === undefined) metric.labels.push(MESH_TRAFFIC_LABEL, 'true');
}

/** Go's hash of a metric: its labels as a set. */
function labelKey(labels: readonly string[]): string {
  if (labels.length === 2) return `${labels[0]}=${labels[1]}`;
  const pairs: string[] = [];
  for (let i = 0; i < labels.length; i += 2) pairs.push(`${labels[i]}=${labels[i + 1]}`);
  return pairs.sort().join(';');
}

/** Sums the samples that have the same labels into the first of them; Go's merged sample has no timestamp. */
function sumDuplicates(metrics: readonly Metric[], merged?: (from: Metric, into: Metric) => void): Metric[] {
  const byLabels = new Map<string, Metric>();
  for (const metric of metrics) {
    const key = labelKey(metric.labels);
    const into = byLabels.get(key);
    if (!into) {
      delete metric.timestamp;
      byLabels.set(key, metric);
      continue;
    }
    merged?.(metric, into);
    into.value += metric.value;
    into.sum += metric.sum;
    into.count += metric.count;
    if (metric.points) {
      into.points ??= [];
      const points = metric.points;
      for (let i = 0; i < points.length; i += 2) setPoint(into.points, points[i]!, points[i + 1]!, true);
    }
  }
  return byLabels.size === metrics.length ? (metrics as Metric[]) : [...byLabels.values()];
}

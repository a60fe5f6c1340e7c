// The metrics parts of a dataplane, loaded only when they are on (prom-client stays out of an
// agent that runs without them): the metrics socket, MeshMetric's configuration from the
// dynamic-configuration poller, and the agent's own metrics.
import type { AccessLogStats } from '../accesslogs/stats.js';
import { createAgentMetrics, type AgentMetrics } from '../agent-metrics/metrics.js';
import type { DynamicConfigPoller } from '../dynconf/poller.js';
import type { AppliedBootstrap } from '../envoy/launcher.js';
import { cachedStaticClusterNames } from '../metrics/bootstrap-clusters.js';
import { createMetricsSocket, MESH_METRIC_PATH } from '../metrics/component.js';
import { parseMeshMetricConfig, type MeshMetricConfig } from '../metrics/mesh-metric-config.js';
import type { Component } from '../runtime/component.js';
import type { Feed } from '../runtime/feed.js';
import { metricsSocketPath } from './sockets.js';

export interface MetricsParts {
  readonly component: Component;
  readonly agentMetrics: AgentMetrics;
}

export function metricsParts(input: {
  readonly name: string;
  readonly mesh: string;
  readonly workDir: string;
  readonly bootstrap: Feed<AppliedBootstrap>;
  readonly poller: DynamicConfigPoller;
  /** Metrics of other parts (the DNS proxy's), in Prometheus text, served after the agent's own. */
  readonly moreMetrics?: () => string;
  readonly accessLogLines?: AccessLogStats;
}): MetricsParts {
  const { bootstrap } = input;
  const agentMetrics = createAgentMetrics({ accessLogLines: input.accessLogLines });
  let meshMetric: MeshMetricConfig | undefined;
  input.poller.register(MESH_METRIC_PATH, (json) => {
    meshMetric = parseMeshMetricConfig(json);
  });
  const clusters = cachedStaticClusterNames();
  const component = createMetricsSocket({
    socketPath: metricsSocketPath(input.workDir, input.name, input.mesh),
    envoyAdmin: () => bootstrap.value?.admin,
    applications: () => bootstrap.value?.response.sidecar?.metrics?.aggregate ?? [],
    meshMetricConfig: () => meshMetric,
    defaultAddress: () => bootstrap.value?.response.sidecar?.networking?.address,
    bootstrapClusters: () => (bootstrap.value ? clusters(bootstrap.value.response.document) : undefined),
    ownMetrics: async () => `${await agentMetrics.text()}${input.moreMetrics?.() ?? ''}`,
  });
  return { component, agentMetrics };
}

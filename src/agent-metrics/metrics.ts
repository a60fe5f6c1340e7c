import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';
import Registry from 'prom-client/lib/registry.js';
import type { Readiness } from '../runtime/readiness.js';
import type { State } from '../supervisor/machine.js';

/** What kuma-dp reports about itself, next to Envoy's and the applications' metrics. */
export interface AgentMetrics {
  /** Called on every change of the supervisor's state. */
  observeSupervisor(state: State, previous: State | undefined): void;
  /** Called after every POST /bootstrap, with its outcome (ok, not_found, server_error, …) and duration. */
  observeBootstrapRequest(result: string, seconds: number): void;
  /** Called on every change of the dataplane's readiness. */
  observeReadiness(readiness: Readiness): void;
  /** The metrics as Prometheus text 0.0.4. */
  text(): Promise<string>;
}

/** The prefix of every metric kuma-dp exports, Node's process metrics included (an app's own `process_*` must not clash). */
export const PREFIX = 'kuma_dp_';
const READINESS: readonly Readiness[] = ['READY', 'NOT_READY', 'TERMINATING'];

/**
 * The agent's metrics in a registry of their own (never prom-client's global one). Node's process
 * metrics are the cheap ones of prom-client's defaults: not the event-loop lag monitor, whose
 * 10 ms timer would wake an idle agent a hundred times a second.
 */
export function createAgentMetrics(
  options: {
    readonly now?: () => number;
    /** The access-log streamer's counts, read at each scrape. */
    readonly accessLogLines?: { readonly sent: number; readonly dropped: number };
  } = {},
): AgentMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  for (const collector of [processCpuTotal, processStartTime, osMemoryHeap, processOpenFileDescriptors, processMaxFileDescriptors, heapSizeAndUsed, version]) {
    collector(registry, { prefix: PREFIX });
  }
  let supervisor: State | undefined;

  const restarts = new Counter({ name: `${PREFIX}envoy_restarts_total`, help: 'Envoy restarts after a crash since kuma-dp started', registers });
  const crashes = new Counter({
    name: `${PREFIX}envoy_crashes_total`,
    help: 'Envoy processes that died on their own, by exit code or by signal',
    labelNames: ['reason'],
    registers,
  });
  crashes.inc({ reason: 'exit_code' }, 0);
  crashes.inc({ reason: 'signal' }, 0);
  const up = new Gauge({ name: `${PREFIX}envoy_up`, help: '1 while an Envoy process runs', registers });
  const live = new Gauge({ name: `${PREFIX}envoy_live`, help: '1 while Envoy is live and has its configuration', registers });
  new Gauge({
    name: `${PREFIX}envoy_uptime_seconds`,
    help: 'Seconds since the running Envoy started; 0 while none runs',
    registers,
    collect() {
      const startedAt = supervisor?.envoy?.startedAt;
      this.set(startedAt === undefined ? 0 : Math.max(0, (now() - startedAt) / 1000));
    },
  });
  const bootstrapRequests = new Counter({
    name: `${PREFIX}bootstrap_requests_total`,
    help: 'Bootstrap requests to kuma-cp, by result',
    labelNames: ['result'],
    registers,
  });
  const bootstrapDuration = new Histogram({
    name: `${PREFIX}bootstrap_request_duration_seconds`,
    help: 'How long a bootstrap request to kuma-cp took',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const readiness = new Gauge({
    name: `${PREFIX}readiness_state`,
    help: "1 for the dataplane's current readiness (READY, NOT_READY, TERMINATING), 0 for the others",
    labelNames: ['state'],
    registers,
  });
  for (const state of READINESS) readiness.set({ state }, state === 'NOT_READY' ? 1 : 0);
  const accessLogLines = options.accessLogLines;
  if (accessLogLines) {
    new Counter({
      name: `${PREFIX}access_log_lines_total`,
      help: 'Access-log lines sent to their TCP collectors, or dropped (unreadable, buffer full, too many collectors, left at stop)',
      labelNames: ['result'],
      registers,
      // The streamer counts; each scrape reads its counts, which only grow.
      collect() {
        this.reset();
        this.inc({ result: 'sent' }, accessLogLines.sent);
        this.inc({ result: 'dropped' }, accessLogLines.dropped);
      },
    });
  }

  return {
    observeSupervisor(state, previous) {
      supervisor = state;
      const before = previous ?? { restarts: 0, consecutiveCrashes: 0, lastExit: undefined };
      if (state.restarts > before.restarts) restarts.inc(state.restarts - before.restarts);
      // A crash bumps the consecutive count; an Envoy that failed to spawn left no exit behind.
      if (state.consecutiveCrashes > before.consecutiveCrashes && state.lastExit && state.lastExit !== before.lastExit) {
        crashes.inc({ reason: state.lastExit.signal ? 'signal' : 'exit_code' });
      }
      up.set(state.envoy ? 1 : 0);
      live.set(state.envoy?.live ? 1 : 0);
    },
    observeBootstrapRequest(result, seconds) {
      bootstrapRequests.inc({ result });
      bootstrapDuration.observe(seconds);
    },
    observeReadiness(current) {
      for (const state of READINESS) readiness.set({ state }, state === current ? 1 : 0);
    },
    text: () => registry.metrics(),
  };
}

import type { QueryType } from './answer.js';
import { RCODE } from './answer.js';

// The DNS proxy's metrics as Go kuma-dp names them (app/kuma-dp/pkg/dataplane/dnsproxy/metrics.go),
// kept as plain numbers: recording costs the hot path a few additions, and whoever exposes them
// (the agent's Prometheus registry) reads them through collect().

export interface CounterSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative counts per upper bound, +Inf excluded (it is `count`). */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge'; readonly samples: readonly CounterSample[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly samples: readonly HistogramSample[] };

/** A part of the agent with metrics of its own. */
export interface MetricsSource {
  collect(): MetricFamily[];
}

// Prometheus client_golang's default buckets, which Go kuma-dp's histograms use.
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CONFIG_READY_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30];

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count += 1;
    for (let i = 0; i < this.bounds.length; i++) if (seconds <= this.bounds[i]!) this.counts[i]! += 1;
  }

  sample(labels: Readonly<Record<string, string>>): HistogramSample {
    return { labels, buckets: this.bounds.map((le, i) => ({ le, count: this.counts[i]! })), sum: this.sum, count: this.count };
  }
}

const RCODE_LABELS: Readonly<Record<number, string>> = { [RCODE.NOERROR]: 'noerror', [RCODE.NXDOMAIN]: 'nxdomain', [RCODE.SERVFAIL]: 'servfail' };

export class DnsMetrics implements MetricsSource {
  /** Go sets kuma-cp's `extraLabels` as constant labels once, from the first `/dns` configuration. */
  private constLabels: Readonly<Record<string, string>> = {};
  private constLabelsSet = false;
  private readonly requestDuration = new Histogram(DEFAULT_BUCKETS);
  private readonly upstreamDuration = new Histogram(DEFAULT_BUCKETS);
  private readonly configReadyWait = new Histogram(CONFIG_READY_BUCKETS);
  private upstreamFailures = 0;
  private readonly queries = new Map<string, number>();
  private readonly rcodes = new Map<string, number>();
  private entries = 0;

  setConstLabels(labels: Readonly<Record<string, string>>): void {
    if (this.constLabelsSet) return;
    this.constLabelsSet = true;
    this.constLabels = { ...labels };
  }

  query(qtype: QueryType, source: 'local' | 'upstream', rcode: number, seconds: number): void {
    const key = `${qtype}\0${source}`;
    this.queries.set(key, (this.queries.get(key) ?? 0) + 1);
    const code = RCODE_LABELS[rcode] ?? 'other';
    this.rcodes.set(code, (this.rcodes.get(code) ?? 0) + 1);
    this.requestDuration.observe(seconds);
  }

  upstream(seconds: number, failed: boolean): void {
    this.upstreamDuration.observe(seconds);
    if (failed) this.upstreamFailures += 1;
  }

  configured(names: number, firstAfterSeconds?: number): void {
    this.entries = names;
    if (firstAfterSeconds !== undefined) this.configReadyWait.observe(firstAfterSeconds);
  }

  collect(): MetricFamily[] {
    const labels = this.constLabels;
    return [
      { name: 'kuma_dp_dns_request_duration_seconds', help: 'The duration of the request (inclusive of request that use internal DNS map).', type: 'histogram', samples: [this.requestDuration.sample(labels)] },
      { name: 'kuma_dp_dns_upstream_request_duration_seconds', help: 'The duration of the proxied requests.', type: 'histogram', samples: [this.upstreamDuration.sample(labels)] },
      { name: 'kuma_dp_dns_upstream_request_failure_count', help: 'The total number of failed upstream requests.', type: 'counter', samples: [{ labels, value: this.upstreamFailures }] },
      {
        name: 'kuma_dp_dns_queries_total',
        help: 'Total DNS queries handled, by query type and source (local map or upstream).',
        type: 'counter',
        samples: [...this.queries].map(([key, value]) => {
          const [qtype, source] = key.split('\0') as [string, string];
          return { labels: { ...labels, qtype, source }, value };
        }),
      },
      { name: 'kuma_dp_dns_response_codes_total', help: 'Total DNS responses by response code.', type: 'counter', samples: [...this.rcodes].map(([rcode, value]) => ({ labels: { ...labels, rcode }, value })) },
      { name: 'kuma_dp_dns_entries_total', help: 'Current number of hostnames in the DNS proxy map.', type: 'gauge', samples: [{ labels, value: this.entries }] },
      { name: 'kuma_dp_dns_config_ready_wait_seconds', help: 'Time between DNS proxy creation and first configuration received from Envoy.', type: 'histogram', samples: [this.configReadyWait.sample(labels)] },
    ];
  }
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelText(labels: Readonly<Record<string, string>>, extra?: readonly [string, string]): string {
  const pairs = [...Object.entries(labels), ...(extra ? [extra] : [])].map(([key, value]) => `${key}="${escapeLabel(value)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** Families in the Prometheus text format (0.0.4), for the metrics socket's own part. */
export function prometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const sample of family.samples) {
        for (const bucket of sample.buckets) lines.push(`${family.name}_bucket${labelText(sample.labels, ['le', String(bucket.le)])} ${bucket.count}`);
        lines.push(`${family.name}_bucket${labelText(sample.labels, ['le', '+Inf'])} ${sample.count}`);
        lines.push(`${family.name}_sum${labelText(sample.labels)} ${sample.sum}`, `${family.name}_count${labelText(sample.labels)} ${sample.count}`);
      }
    } else {
      for (const sample of family.samples) lines.push(`${family.name}${labelText(sample.labels)} ${sample.value}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

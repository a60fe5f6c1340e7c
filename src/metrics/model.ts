/**
 * Prometheus metric families as Go's client_model holds them after its text parser: what Kuma's
 * rewrite and the MeshMetric profiles work on, and what the writer prints back.
 */
export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram' | 'untyped';

export interface Metric {
  /** Label names and values, alternating, in input order; never `le` or `quantile`. */
  labels: string[];
  /** Counter, gauge and untyped. */
  value: number;
  /** Milliseconds, as the digits read (an int64 may not fit a double). */
  timestamp?: string;
  /** Summary and histogram. */
  sum: number;
  count: number;
  /**
   * Histogram: upper bounds and cumulative counts; summary: quantiles and values; as one flat
   * list `[bound, value, bound, value, …]` in input order (a map per metric costs a large scrape
   * dearly in garbage collection).
   */
  points?: number[];
}

export interface Family {
  readonly name: string;
  help?: string;
  type: MetricType;
  metrics: Metric[];
}

export function labelValue(metric: Metric, name: string): string | undefined {
  const labels = metric.labels;
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) return labels[i + 1];
  return undefined;
}

/** Sets (or, with `add`, adds to) the value at a bound. */
export function setPoint(points: number[], bound: number, value: number, add: boolean): void {
  for (let i = 0; i < points.length; i += 2) {
    if (points[i] === bound) {
      points[i + 1] = add ? points[i + 1]! + value : value;
      return;
    }
  }
  points.push(bound, value);
}


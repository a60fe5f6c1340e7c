// Kuma's own metrics fixtures (kuma-fixtures/CASES.md §A–D) through the agent's metrics code.
// Where Go's output order is its random map order, outputs are compared as multisets of lines,
// empty lines included, as Kuma's tests compare them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { joinParts, responseFormat, selectFormat } from '../src/metrics/content-type.js';
import { mergeClusters, unsplitClusterName } from '../src/metrics/merge.js';
import type { Family, Metric } from '../src/metrics/model.js';
import { profileFilter, type SidecarProfiles } from '../src/metrics/profiles.js';
import { envoyMeshMetricQuery, envoyStatsQuery } from '../src/metrics/scrape-url.js';
import { applicationTarget } from '../src/metrics/targets.js';
import { parseText } from '../src/metrics/text-parse.js';
import { writeFamilies } from '../src/metrics/text-write.js';
import { formatGoFloat } from '../src/metrics/go-float.js';
import { fixture } from './shared.js';

const TESTDATA = 'app/kuma-dp/pkg/dataplane/metrics/testdata';
/** The bootstrap's clusters each version's kuma-cp generates (CASES.md §A rule 5). */
const BOOTSTRAP_CLUSTERS: Readonly<Record<string, ReadonlySet<string>>> = {
  head: new Set(['system_ads', 'system_access_log_sink']),
  'v2.14.3': new Set(['system_ads', 'system_access_log_sink', 'ads_cluster', 'access_log_sink']),
};
/** Inputs of the body-assembly cases, not of the merge. */
const BODY_INPUTS = new Set(['openmetrics_0_1_1.in', 'prom-text.in']);

const read = (...parts: string[]) => readFileSync(fixture(...parts), 'utf8');
/** Gomega's ConsistOf(lines(...)): the lines as a multiset. */
const lineSet = (text: string) => text.split('\n').sort();

/** A version's expected output: v2.14.3 holds only the files that differ from HEAD (PROVENANCE.md). */
function expected(version: string, name: string): string {
  const own = fixture(version, TESTDATA, name);
  return existsSync(own) ? readFileSync(own, 'utf8') : read('head', TESTDATA, name);
}

describe('A. the merge (merge_test.go)', () => {
  const inputs = readdirSync(fixture('head', TESTDATA)).filter((name) => name.endsWith('.in') && !BODY_INPUTS.has(name));

  it('has the nine inputs Kuma tests', () => {
    assert.equal(inputs.length, 9, inputs.join(', '));
  });

  for (const version of ['head', 'v2.14.3']) {
    for (const input of inputs) {
      it(`${version}: ${input} → ${input.replace(/\.in$/, '.out')}`, () => {
        const out = writeFamilies(mergeClusters(parseText(read('head', TESTDATA, input)), BOOTSTRAP_CLUSTERS[version]));
        assert.deepEqual(lineSet(out), lineSet(expected(version, input.replace(/\.in$/, '.out'))));
      });
    }
  }

  it('cracks cluster names as isMergeableClusterName does', () => {
    assert.equal(unsplitClusterName('foo-service-5bac935803abcdd1'), 'foo-service');
    assert.equal(unsplitClusterName('foo-service-23a13cf720fd15c6'), 'foo-service');
    assert.equal(unsplitClusterName('foo-service'), undefined);
  });

  it('parses UTF-8 names', () => {
    const [family] = parseText('# HELP "http.server.duration" HTTP server request duration\n# TYPE "http.server.duration" gauge\n{"http.server.duration"} 1.0\n');
    assert.deepEqual([family!.name, family!.type, family!.metrics[0]!.value], ['http.server.duration', 'gauge', 1]);
  });
});

describe('B. the hijacker helpers (server_test.go)', () => {
  it('rewrites the URLs of a scrape', () => {
    assert.equal(envoyStatsQuery(new URL('http://foo/bar').search), 'format=prometheus&text_readouts=');
    assert.equal(
      envoyStatsQuery(new URL('http://foo/bar?one=two&three=four&filter=test_.*&usedonly').search),
      'filter=test_.%2A&format=prometheus&one=two&text_readouts=&three=four&usedonly=',
    );
    assert.equal(applicationTarget({ address: '127.0.0.1', port: 80, path: '/stats' }).url, 'http://127.0.0.1:80/stats');
    // AddSidecarParameters under MeshMetric, where kuma-dp scrapes Envoy with no incoming query.
    // Kuma sends usedonly even with includeUnused: true; the agent follows the policy (README).
    assert.equal(envoyMeshMetricQuery(false), 'format=prometheus&text_readouts=&usedonly=');
    assert.equal(envoyMeshMetricQuery(true), 'format=prometheus&text_readouts=');
  });

  it('reads the format of a response', () => {
    const table: Array<[string, string]> = [
      ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', 'protobuf'],
      ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text', 'unknown'],
      ['text/plain; charset=UTF-8', 'text'],
      ['application/openmetrics-text; version=1.0.0', 'openmetrics-1.0.0'],
      ['application/openmetrics-text; version=0.0.1', 'openmetrics-0.0.1'],
      ['application/invalid', 'unknown'],
      ['application/openmetrics-text', 'openmetrics-0.0.1'],
      ['application/openmetrics-text; version=2.0.0', 'unknown'],
    ];
    for (const [contentType, format] of table) assert.equal(responseFormat(contentType), format, contentType);
  });

  it('selects the content type of the answer', () => {
    assert.equal(selectFormat(['openmetrics-0.0.1', responseFormat(''), 'text']), 'openmetrics-0.0.1');
    assert.equal(selectFormat([responseFormat('invalid_content_type')]), 'text', 'negotiated: never OpenMetrics');
  });

  for (const version of ['head', 'v2.14.3']) {
    it(`${version}: assembles bodies byte for byte`, () => {
      const om = read('head', TESTDATA, 'openmetrics_0_1_1.in');
      const counter = expected(version, 'counter.out');
      assert.equal(Buffer.concat(joinParts([om, counter], 'openmetrics-0.0.1')).toString(), expected(version, 'openmetrics_0_0_1-counter.out'));
      assert.equal(Buffer.concat(joinParts([om, om, counter], 'openmetrics-0.0.1')).toString(), expected(version, 'multi-openmetrics-counter.out'));
      assert.equal(Buffer.concat(joinParts([read('head', TESTDATA, 'prom-text.in'), counter], 'text')).toString(), expected(version, 'prom-text-counter.out'));
    });
  }
});

describe('C. MeshMetric profiles (profiles_test.go)', () => {
  const dir = fixture('head', TESTDATA, 'profiles');
  const cases = readdirSync(dir).filter((name) => name.endsWith('.yaml'));

  it('has the nine cases Kuma tests', () => {
    assert.equal(cases.length, 9, cases.join(', '));
  });

  for (const policy of cases) {
    const name = policy.replace(/\.yaml$/, '');
    it(`${name}`, () => {
      const sidecar = (YAML.parse(readFileSync(join(dir, policy), 'utf8')) as { default: { sidecar: SidecarProfiles } }).default.sidecar;
      const out = writeFamilies(profileFilter(sidecar)(parseText(readFileSync(join(dir, `${name}.in`), 'utf8'))));
      const golden = readFileSync(join(dir, `${name}.golden`), 'utf8');
      assert.deepEqual(golden === '' ? out : lineSet(out), golden === '' ? '' : lineSet(golden));
    });
  }
});

type Attribute = { Key: string; Value: { Value: string } };
type DataPoint = { Attributes: Attribute[]; Value?: number; Count?: number; Sum?: number; Bounds?: number[]; BucketCounts?: number[] };
type Scope = { metrics: Array<{ Name: string; Data: { DataPoints: DataPoint[] } }> };

/** A histogram's or summary's points as [bound, value] pairs, ascending. */
function ascendingPoints(metric: Metric): Array<[number, number]> {
  const points = metric.points ?? [];
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < points.length; i += 2) pairs.push([points[i]!, points[i + 1]!]);
  return pairs.sort((a, b) => a[0] - b[0]);
}

/** One data point as `name{sorted attributes}` → what it holds. */
function goldenPoints(scopes: Scope[]): Map<string, unknown> {
  const points = new Map<string, unknown>();
  for (const scope of scopes) {
    for (const metric of scope.metrics) {
      for (const point of metric.Data.DataPoints) {
        const attributes = point.Attributes.map((a) => `${a.Key}=${a.Value.Value}`).sort().join(',');
        const held = point.Bounds ? { count: point.Count, sum: point.Sum, bounds: point.Bounds, buckets: point.BucketCounts } : point.Value;
        points.set(`${metric.Name}{${attributes}}`, held);
      }
    }
  }
  return points;
}

/** The same, from the families the agent parsed, with the extra label and without OTel's scope labels. */
function parsedPoints(families: readonly Family[], extra: string): Map<string, unknown> {
  const points = new Map<string, unknown>();
  for (const family of families) {
    for (const metric of family.metrics) {
      const labels: string[] = [extra];
      for (let i = 0; i < metric.labels.length; i += 2) if (!metric.labels[i]!.startsWith('otel_scope_')) labels.push(`${metric.labels[i]}=${metric.labels[i + 1]}`);
      const key = (name: string, more: string[] = []) => `${name}{${[...labels, ...more].sort().join(',')}}`;
      const points_ = ascendingPoints(metric);
      if (family.type === 'histogram') {
        const bounds = points_.filter(([bound]) => bound !== Infinity);
        const buckets = [...bounds.map(([, count], i) => count - (bounds[i - 1]?.[1] ?? 0)), metric.count - (bounds.at(-1)?.[1] ?? 0)];
        points.set(key(family.name), { count: metric.count, sum: metric.sum, bounds: bounds.map(([bound]) => bound), buckets });
      } else if (family.type === 'summary') {
        for (const [quantile, value] of points_) points.set(key(family.name, [`quantile=${formatGoFloat(quantile)}`]), value);
        points.set(key(`${family.name}_count`), metric.count);
        points.set(key(`${family.name}_sum`), metric.sum);
      } else {
        points.set(key(family.name), metric.value);
      }
    }
  }
  return points;
}

describe('D. what the OpenTelemetry mapper sees (metrics_format_mapper_test.go)', () => {
  for (const name of ['counter', 'gauge', 'histogram', 'summary']) {
    it(`${name}: the agent reads the data points Kuma maps`, () => {
      const golden = goldenPoints(JSON.parse(read('head', TESTDATA, 'otel', `${name}.golden.json`)) as Scope[]);
      const parsed = parsedPoints(parseText(read('head', TESTDATA, 'otel', `${name}.in`)), 'extraLabel=test-label');
      assert.ok(golden.size >= 10, `${golden.size} data points`);
      assert.deepEqual(parsed, golden);
    });
  }
});

// Prometheus text as Go's expfmt reads and writes it: what Kuma's merged scrape and MeshMetric
// print must match byte for byte (the conformance run checks Kuma's own fixtures).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoFloat, parseGoFloat } from '../src/metrics/go-float.js';
import { parseText, TextParseError } from '../src/metrics/text-parse.js';
import { writeFamilies, writeFamily } from '../src/metrics/text-write.js';

const roundTrip = (text: string) => writeFamilies(parseText(text));

describe('numbers as Go prints them', () => {
  it('uses the shortest digits, in exponent form below 1e-4 and from 1e6 on', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [-1, '-1'],
      [255, '255'],
      [20.5, '20.5'],
      [999999, '999999'],
      [1e6, '1e+06'],
      [1800000, '1.8e+06'],
      [3600000, '3.6e+06'],
      [9217064, '9.217064e+06'],
      [14680064, '1.4680064e+07'],
      [123456.7, '123456.7'],
      [1234567.8, '1.2345678e+06'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [-2.5e-10, '-2.5e-10'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e21, '1e+21'],
      [1.5e300, '1.5e+300'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
    ];
    for (const [value, text] of cases) assert.equal(formatGoFloat(value), text, String(value));
  });

  it('reads what Go reads and refuses the rest', () => {
    assert.equal(parseGoFloat('1'), 1);
    assert.equal(parseGoFloat('1e3'), 1000);
    assert.equal(parseGoFloat('.5'), 0.5);
    assert.equal(parseGoFloat('-7.'), -7);
    assert.equal(parseGoFloat('+Inf'), Infinity);
    assert.equal(parseGoFloat('-inf'), -Infinity);
    assert.equal(parseGoFloat('Infinity'), Infinity);
    assert.ok(Number.isNaN(parseGoFloat('NaN')));
    for (const bad of ['', 'abc', '0x10', '1_000', '1e', '--1', '1.2.3']) assert.equal(parseGoFloat(bad), undefined, bad);
  });
});

describe('reading Prometheus text', () => {
  it("reads Envoy's shape: TYPE lines, `{}` on untagged metrics, empty lines between families", () => {
    const families = parseText(
      '# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n\n' +
        '# TYPE envoy_cluster_upstream_rq_total counter\n' +
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 3\n' +
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="b"} 4\n\n',
    );
    assert.deepEqual(
      families.map((f) => [f.name, f.type, f.metrics.map((m) => [m.labels, m.value])]),
      [
        ['envoy_server_live', 'gauge', [[[], 1]]],
        ['envoy_cluster_upstream_rq_total', 'counter', [[['envoy_cluster_name', 'a'], 3], [['envoy_cluster_name', 'b'], 4]]],
      ],
    );
  });

  it('folds the samples of a summary and of a histogram into one metric per label set', () => {
    const [summary, histogram] = parseText(
      '# TYPE rpc summary\n' +
        'rpc{svc="a",quantile="0.5"} 2\nrpc{svc="b",quantile="0.5"} 7\nrpc{svc="a",quantile="0.9"} 5\n' +
        'rpc_sum{svc="a"} 10\nrpc_count{svc="a"} 4\nrpc_sum{svc="b"} 7\nrpc_count{svc="b"} 1\n' +
        '# TYPE lat histogram\n' +
        'lat_bucket{le="1",svc="a"} 1\nlat_bucket{svc="a",le="+Inf"} 3\nlat_sum{svc="a"} 9.5\nlat_count{svc="a"} 3\n',
    );
    assert.equal(summary!.metrics.length, 2);
    assert.deepEqual(summary!.metrics[0]!.points, [0.5, 2, 0.9, 5]);
    assert.deepEqual([summary!.metrics[0]!.sum, summary!.metrics[0]!.count], [10, 4]);
    assert.equal(histogram!.metrics.length, 1);
    assert.deepEqual(histogram!.metrics[0]!.labels, ['svc', 'a']);
    assert.deepEqual(histogram!.metrics[0]!.points, [1, 1, Infinity, 3]);
    assert.deepEqual([histogram!.metrics[0]!.sum, histogram!.metrics[0]!.count], [9.5, 3]);
  });

  it('keeps a family in one place when its samples come back later, and drops families without samples', () => {
    const families = parseText('# TYPE a counter\na 1\n# TYPE empty gauge\n# TYPE b gauge\nb 2\na{x="y"} 3\n');
    assert.deepEqual(
      families.map((f) => [f.name, f.metrics.length]),
      [
        ['a', 2],
        ['b', 1],
      ],
    );
  });

  it('types a family without a TYPE line as untyped, and reads gauge_histogram as a histogram', () => {
    const [plain, gaugeHistogram] = parseText('plain 1\n# TYPE gh gaugehistogram\ngh_bucket{le="+Inf"} 1\ngh_sum 1\ngh_count 1\n');
    assert.equal(plain!.type, 'untyped');
    assert.equal(gaugeHistogram!.type, 'histogram');
  });

  it('unescapes HELP text and label values, and reads quoted UTF-8 names', () => {
    const [family] = parseText(
      '# HELP "http.server.duration" HTTP server\\nrequest \\\\ duration\n# TYPE "http.server.duration" gauge\n' +
        '{"http.server.duration","service.name"="a \\"b\\"\\n"} 1.0\n',
    );
    assert.equal(family!.name, 'http.server.duration');
    assert.equal(family!.help, 'HTTP server\nrequest \\ duration');
    assert.deepEqual(family!.metrics[0]!.labels, ['service.name', 'a "b"\n']);
  });

  it('tolerates blanks at the end of a line and a last line without a newline', () => {
    assert.equal(parseText('a 1 \t\nb{x="1"}  2  17').length, 2);
  });

  it('refuses what Go refuses, naming the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['a 1\n# TYPE a counter\n', /line 2: second TYPE line for metric name "a", or TYPE reported after samples/],
      ['# HELP a x\n# HELP a y\n', /line 2: second HELP line/],
      ['# TYPE a bogus\n', /unknown metric type "bogus"/],
      ['a{x="1",x="2"} 1\n', /duplicate label names/],
      ['a{__name__="b"} 1\n', /reserved/],
      ['a{x="\\t"} 1\n', /invalid escape sequence/],
      ['a{x=1} 1\n', /expected '"' at start of label value/],
      ['a{x="1" y="2"} 1\n', /unexpected end of label value/],
      ['a one\n', /expected float as value, got "one"/],
      ['a 1_0\n', /expected float as value/],
      ['a 1 12.5\n', /expected integer as timestamp/],
      ['a 1 12 extra\n', /spurious string after timestamp/],
      ['# TYPE h histogram\nh_bucket{le="x"} 1\n', /expected float as value for 'le' label/],
      ['# TYPE h histogram\nh_count -1\n', /negative count/],
      ['{} 1\n', /invalid label name|invalid metric name/],
      ['9a 1\n', /invalid metric name/],
    ];
    for (const [text, error] of cases) {
      assert.throws(() => parseText(text), (e: unknown) => e instanceof TextParseError && error.test(e.message), text);
    }
  });
});

describe('writing Prometheus text as Go does', () => {
  it('prints `name value` without braces, keeps label order and timestamps, and formats numbers', () => {
    assert.equal(
      roundTrip('# TYPE g gauge\ng{} 9217064\ng{b="2",a="1"} 0.5 1395066363000\n'),
      '# TYPE g gauge\ng 9.217064e+06\ng{b="2",a="1"} 0.5 1395066363000\n\n',
    );
  });

  it('prints HELP only when there was one, escaped', () => {
    assert.equal(roundTrip('# HELP c a\\\\b\\nc\n# TYPE c counter\nc 1\n'), '# HELP c a\\\\b\\nc\n# TYPE c counter\nc 1\n\n');
  });

  it('prints `le` and `quantile` last, re-formatted, and adds a missing +Inf bucket holding the count', () => {
    assert.equal(
      roundTrip('# TYPE h histogram\nh_bucket{le="1800000",a="x"} 2\nh_sum{a="x"} 3\nh_count{a="x"} 4\n'),
      '# TYPE h histogram\nh_bucket{a="x",le="1.8e+06"} 2\nh_bucket{a="x",le="+Inf"} 4\nh_sum{a="x"} 3\nh_count{a="x"} 4\n\n',
    );
    assert.equal(
      roundTrip('# TYPE s summary\ns{quantile="0.99",a="x"} 3\ns{quantile="0.5",a="x"} 1\ns_sum{a="x"} 5\ns_count{a="x"} 2\n'),
      '# TYPE s summary\ns{a="x",quantile="0.5"} 1\ns{a="x",quantile="0.99"} 3\ns_sum{a="x"} 5\ns_count{a="x"} 2\n\n',
    );
  });

  it('quotes names that are not legacy names, and escapes label values', () => {
    const [family] = parseText('# TYPE "http.server.duration" gauge\n{"http.server.duration","service.name"="a\\\\b"} 1.0\n');
    assert.equal(writeFamily(family!), '# TYPE "http.server.duration" gauge\n{"http.server.duration","service.name"="a\\\\b"} 1\n');
  });
});

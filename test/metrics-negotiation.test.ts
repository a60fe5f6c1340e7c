// How the merged scrape talks to its sources and to Prometheus: the URLs it scrapes, the content
// type it answers with, and how it joins the bodies (Kuma's server.go rules).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_TYPES, joinParts, responseFormat, selectFormat } from '../src/metrics/content-type.js';
import { mergedScrape, type Sources } from '../src/metrics/scrape.js';
import type { Scraped, ScrapeTarget } from '../src/metrics/scraper.js';
import { encodeQuery, envoyMeshMetricQuery, envoyStatsQuery, parseQuery } from '../src/metrics/scrape-url.js';
import { applicationTarget, envoyTarget } from '../src/metrics/targets.js';

describe('the URLs of a scrape', () => {
  it("asks Envoy for Prometheus text with the scraper's query, re-encoded as Go encodes it", () => {
    assert.equal(envoyStatsQuery(''), 'format=prometheus&text_readouts=');
    assert.equal(
      envoyStatsQuery('?one=two&three=four&filter=test_.*&usedonly'),
      'filter=test_.%2A&format=prometheus&one=two&text_readouts=&three=four&usedonly=',
    );
    assert.equal(envoyStatsQuery('?a=x%20y&a=z&b=!'), 'a=x+y&a=z&b=%21&format=prometheus&text_readouts=');
    assert.equal(envoyStatsQuery('?format=json'), 'format=json&format=prometheus&text_readouts=');
  });

  it('asks Envoy for used stats only under MeshMetric, unless the policy includes unused ones', () => {
    assert.equal(envoyMeshMetricQuery(false), 'format=prometheus&text_readouts=&usedonly=');
    assert.equal(envoyMeshMetricQuery(true), 'format=prometheus&text_readouts=');
  });

  it('keeps what Go keeps of a query', () => {
    assert.deepEqual([...parseQuery('a=1&a=2&b&bad=%zz&c=%41')], [
      ['a', ['1', '2']],
      ['b', ['']],
      ['c', ['A']],
    ]);
    assert.equal(encodeQuery(new Map([['k~', ["it's (x)"]]])), "k~=it%27s+%28x%29");
  });

  it("scrapes applications with no query, and Envoy's admin over TCP or its unix socket", () => {
    assert.deepEqual(applicationTarget({ name: 'app', address: '10.0.0.2', port: 8080, path: '/metrics' }), { name: 'app', url: 'http://10.0.0.2:8080/metrics' });
    assert.deepEqual(applicationTarget({ address: '', port: 9090, path: 'stats?x' }), { name: '127.0.0.1:9090', url: 'http://127.0.0.1:9090/stats%3Fx' });
    assert.deepEqual(applicationTarget({ address: '', port: 9090, path: '/m' }, '192.168.0.7').url, 'http://192.168.0.7:9090/m');
    assert.deepEqual(applicationTarget({ name: '', address: 'fd00::1', port: 80, path: '/m' }), { name: '[fd00::1]:80', url: 'http://[fd00::1]:80/m' });
    assert.deepEqual(envoyTarget({ kind: 'tcp', host: '127.0.0.1', port: 9901 }, 'format=prometheus'), {
      name: 'envoy',
      url: 'http://127.0.0.1:9901/stats?format=prometheus',
    });
    assert.deepEqual(envoyTarget({ kind: 'tcp', host: '0.0.0.0', port: 9901 }, 'q').url, 'http://127.0.0.1:9901/stats?q');
    assert.deepEqual(envoyTarget({ kind: 'pipe', path: '/w/kuma-envoy-admin.sock' }, 'q'), {
      name: 'envoy',
      url: 'http://localhost/stats?q',
      socketPath: '/w/kuma-envoy-admin.sock',
    });
  });
});

describe('content types', () => {
  it("reads a source's format as Kuma's responseFormat does", () => {
    const cases: Array<[string | undefined, string]> = [
      ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', 'protobuf'],
      ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text', 'unknown'],
      ['text/plain; charset=UTF-8', 'text'],
      ['Text/Plain', 'text'],
      ['application/openmetrics-text; version=1.0.0', 'openmetrics-1.0.0'],
      ['application/openmetrics-text; version="0.0.1"; charset=utf-8', 'openmetrics-0.0.1'],
      ['application/openmetrics-text', 'openmetrics-0.0.1'],
      ['application/openmetrics-text; version=2.0.0', 'unknown'],
      ['application/invalid', 'unknown'],
      ['text/plain; version', 'unknown'],
      ['', 'unknown'],
      [undefined, 'unknown'],
    ];
    for (const [header, format] of cases) assert.equal(responseFormat(header), format, String(header));
  });

  it("answers in the best format a source answered in, whatever the scraper's Accept, else text 0.0.4", () => {
    assert.equal(selectFormat(['openmetrics-0.0.1', 'unknown', 'text']), 'openmetrics-0.0.1');
    assert.equal(selectFormat(['text', 'openmetrics-1.0.0']), 'openmetrics-1.0.0');
    assert.equal(selectFormat(['unknown', 'protobuf']), 'text');
    assert.equal(selectFormat([]), 'text');
    assert.equal(CONTENT_TYPES['openmetrics-1.0.0'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.equal(CONTENT_TYPES.text, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('joins bodies as Kuma does: no inner `# EOF`, no empty lines, one `# EOF` at the end for OpenMetrics', () => {
    const om = '# TYPE a counter\na_total 1\n# EOF\n';
    const envoy = '# TYPE b counter\nb 2\n\n# TYPE c gauge\nc 3\n\n';
    assert.equal(Buffer.concat(joinParts([om, om, envoy], 'openmetrics-1.0.0')).toString(), '# TYPE a counter\na_total 1\n# TYPE a counter\na_total 1\n# TYPE b counter\nb 2\n# TYPE c gauge\nc 3\n# EOF\n');
    assert.equal(Buffer.concat(joinParts(['\n\n', envoy, '# EOF'], 'text')).toString(), '# TYPE b counter\nb 2\n# TYPE c gauge\nc 3\n');
    assert.equal(Buffer.concat(joinParts([], 'text')).toString(), '\n');
  });

  it("collapses the empty lines inside one body (the agent's own metrics) without joining the others into one copy", () => {
    const rewritten = Buffer.from('# TYPE b counter\nb 2\n');
    const own = '# HELP k help\n# TYPE k gauge\nk 1\n\n# HELP l help\n# TYPE l gauge\nl 2\n\n';
    const parts = joinParts([rewritten, own], 'text');
    const written = parts[0]!;
    assert.ok(written.buffer === rewritten.buffer && written.byteOffset === rewritten.byteOffset, 'the large body is written from where it is');
    assert.equal(Buffer.concat(parts).toString(), '# TYPE b counter\nb 2\n# HELP k help\n# TYPE k gauge\nk 1\n# HELP l help\n# TYPE l gauge\nl 2\n');
    assert.equal(Buffer.concat(joinParts([rewritten, '\n\nk 1\n'], 'text')).toString(), '# TYPE b counter\nb 2\nk 1\n');
  });
});

describe('the merged scrape', () => {
  const target = (name: string): ScrapeTarget => ({ name, url: `http://${name}/` });
  const run = (answers: Record<string, Scraped>, failed: string[] = []) => {
    const sources: Sources = {
      applications: [target('app'), target('grpc-app'), target('down')],
      envoy: target('envoy'),
      fetch: async (t) => {
        const answer = answers[t.name];
        if (!answer) throw new Error('ECONNREFUSED');
        return answer;
      },
      own: async () => '# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up 1\n',
      failed: (t, error) => failed.push(`${t.name}: ${error.message}`),
    };
    return mergedScrape(sources, new Set(['system_ads']));
  };

  it("joins the apps' bodies as they came, Envoy's rewritten and the agent's own, in the best format", async () => {
    const failed: string[] = [];
    const result = await run(
      {
        app: { body: Buffer.from('# TYPE app_requests counter\napp_requests_total 5\n# EOF\n'), format: 'openmetrics-1.0.0' },
        'grpc-app': { body: Buffer.from('\u0008\u0001binary'), format: 'protobuf' },
        envoy: { body: Buffer.from('# TYPE rq counter\nrq{envoy_cluster_name="r-1a2b3c4d5e6f7a8b"} 1\nrq{envoy_cluster_name="r-9f8e7d6c5b4a3f2e"} 2\n'), format: 'text' },
      },
      failed,
    );
    assert.equal(result.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.equal(
      Buffer.concat(result.parts).toString(),
      '# TYPE app_requests counter\napp_requests_total 5\n# TYPE rq counter\nrq{envoy_cluster_name="r",kuma_io_mesh_traffic="true"} 3\n' +
        '# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up 1\n# EOF\n',
    );
    assert.deepEqual(failed, [
      'down: ECONNREFUSED',
      'grpc-app: answered in binary protobuf, which cannot be merged with text: it must accept text/plain',
    ]);
  });

  it("leaves Envoy out when its text does not parse, and still answers with the rest", async () => {
    const failed: string[] = [];
    const result = await run({ envoy: { body: Buffer.from('garbage {'), format: 'text' } }, failed);
    assert.equal(result.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(Buffer.concat(result.parts).toString(), '# TYPE kuma_dp_envoy_up gauge\nkuma_dp_envoy_up 1\n');
    assert.equal(failed.length, 4);
    assert.match(failed.find((line) => line.startsWith('envoy'))!, /text format parsing error in line 1/);
  });
});

// The metrics socket over a real unix socket, with the fake Envoy and a stand-in app behind it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { createAgentMetrics } from '../src/agent-metrics/metrics.js';
import type { AdminAddress } from '../src/bootstrap/admin-address.js';
import type { AggregateApp } from '../src/bootstrap/response.js';
import { BufferPool, type Lease } from '../src/metrics/buffer-pool.js';
import { createMetricsSocket, type MetricsSocketOptions } from '../src/metrics/component.js';
import { Scraper } from '../src/metrics/scraper.js';
import type { MeshMetricConfig } from '../src/metrics/mesh-metric-config.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { readAdminLog } from '../stand-ins/envoy-records.js';
import { startMetricsApp, type MetricsApp } from '../stand-ins/metrics-app.js';
import { tempDir, waitUntil } from './helpers/agent.js';
import { startFakeEnvoy, type FakeEnvoy } from './helpers/fake-envoy.js';
import { unixGet } from './helpers/unix-http.js';

type LogEntry = Record<string, unknown>;

async function serve(options: Partial<MetricsSocketOptions> & { envoy?: FakeEnvoy; apps?: readonly AggregateApp[]; meshMetric?: MeshMetricConfig }) {
  const lines: LogEntry[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogEntry) });
  const socketPath = options.socketPath ?? path.join(tempDir('kuma-dp-metrics-'), 'kuma-mh-backend-default.sock');
  const component = createMetricsSocket({
    socketPath,
    envoyAdmin: () => options.envoy?.admin,
    applications: () => options.apps ?? [],
    meshMetricConfig: () => options.meshMetric,
    ownMetrics: () => createAgentMetrics().text(),
    ...options,
  });
  const running = await component.start({ logger, readiness: new ReadinessGates() });
  after(() => running.stop());
  return { socketPath, running, lines };
}

const samples = (body: string) => body.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
const appOf = (app: MetricsApp, name = 'app'): AggregateApp => ({ name, address: '127.0.0.1', port: app.port, path: '/metrics' });

describe('the metrics socket', () => {
  it("merges Envoy's metrics, rewritten as Kuma does, with the apps' and its own", async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp({ requests: 42 });
    after(() => app.close());
    const { socketPath } = await serve({ envoy, apps: [appOf(app)] });

    const answer = await unixGet(socketPath, '/metrics?filter=envoy_cluster', {
      headers: { 'user-agent': 'Prometheus/2.53.0', 'x-prometheus-scrape-timeout-seconds': '9', accept: 'text/plain;version=0.0.4' },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const lines = samples(answer.body);
    assert.ok(lines.includes('app_requests_total{route="/"} 42'), 'the app, as it answered');
    assert.ok(lines.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="redis_kuma-demo_svc_6379",kuma_io_mesh_traffic="true"} 203'), 'split clusters summed');
    assert.ok(lines.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="system_ads"} 1'), 'bootstrap cluster: not mesh traffic');
    assert.ok(lines.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="kuma_envoy_admin"} 2'), 'admin: not mesh traffic');
    assert.ok(lines.includes('envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="inbound_10_0_0_1_8080",kuma_io_mesh_traffic="true"} 9'));
    assert.ok(lines.includes('envoy_control_plane_identifier{text_value="kuma-cp"} 0'), 'text readouts asked for');
    assert.ok(lines.includes('kuma_dp_envoy_restarts_total 0'), "the agent's own");
    assert.ok(!lines.some((line) => /-[0-9a-f]{16}"/.test(line)), 'no hash suffix is left');
    assert.ok(!answer.body.includes('\n\n') && !answer.body.includes('# EOF'));

    assert.ok(readAdminLog(envoy.dir).some((entry) => entry.path === '/stats?filter=envoy_cluster&format=prometheus&text_readouts='), "the scraper's query went to Envoy");
    const headers = app.requests.at(-1)!.headers;
    assert.equal(app.requests.at(-1)!.path, '/metrics', 'no query to the app');
    assert.deepEqual([headers['user-agent'], headers['x-prometheus-scrape-timeout-seconds'], headers.accept], ['Prometheus/2.53.0', '9', 'text/plain;version=0.0.4']);
  });

  it('answers in OpenMetrics when an app does, with one `# EOF` at the end', async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp();
    after(() => app.close());
    const { socketPath } = await serve({ envoy, apps: [appOf(app)] });
    const answer = await unixGet(socketPath, '/metrics', {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
    });
    assert.equal(answer.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(answer.body.endsWith('\n# EOF\n'));
    assert.equal(answer.body.split('# EOF').length, 2);
    assert.ok(samples(answer.body).includes('app_requests_total{route="/"} 5'));
    assert.ok(samples(answer.body).includes('envoy_server_live 1'));
  });

  it("reaches Envoy's admin on a unix socket, and serves the apps alone while no Envoy is known", async () => {
    const envoy = await startFakeEnvoy(tempDir(), { pipe: true });
    const viaPipe = await serve({ envoy });
    assert.ok(samples((await unixGet(viaPipe.socketPath, '/metrics')).body).includes('envoy_server_live 1'));

    const app = await startMetricsApp();
    after(() => app.close());
    const noEnvoy = await serve({ apps: [appOf(app)] });
    const body = (await unixGet(noEnvoy.socketPath, '/')).body;
    assert.ok(samples(body).includes('app_requests_total{route="/"} 5'));
    assert.ok(!samples(body).some((line) => line.startsWith('envoy_')));
  });

  it('leaves a failing source out, still answers 200, and logs it once a minute at most', async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp();
    after(() => app.close());
    app.set({ status: 500 });
    const { socketPath, lines } = await serve({ envoy, apps: [appOf(app, 'failing'), { name: 'gone', address: '127.0.0.1', port: 1, path: '/metrics' }] });
    for (let i = 0; i < 3; i++) {
      const answer = await unixGet(socketPath, '/metrics');
      assert.equal(answer.status, 200);
      assert.ok(samples(answer.body).includes('envoy_server_live 1'));
      assert.ok(!answer.body.includes('app_requests_total'));
    }
    const failures = lines.filter((line) => line.event === 'metrics-source-failed');
    assert.deepEqual(failures.map((line) => line.source).sort(), ['failing', 'gone']);
    assert.match(String(failures.find((line) => line.source === 'failing')!.err), /answered 500: failing on purpose/);
  });

  it("bounds each scrape by Prometheus's scrape timeout", async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp();
    after(() => app.close());
    app.set({ delayMs: 8000 });
    const { socketPath, lines } = await serve({ envoy, apps: [appOf(app, 'slow')] });
    const started = Date.now();
    const answer = await unixGet(socketPath, '/metrics', { headers: { 'x-prometheus-scrape-timeout-seconds': '0.5' } });
    assert.ok(Date.now() - started < 6000, `answered after ${Date.now() - started}ms`);
    assert.ok(samples(answer.body).includes('envoy_server_live 1'));
    assert.ok(!answer.body.includes('app_requests_total'));
    assert.match(String(lines.find((line) => line.source === 'slow')?.err), /no answer within 500ms/);
  });

  it('serves MeshMetric: before a configuration, the aggregate apps and all of Envoy', async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp();
    after(() => app.close());
    const { socketPath } = await serve({ envoy, apps: [appOf(app)] });
    const answer = await unixGet(socketPath, '/meshmetric');
    assert.equal(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const lines = samples(answer.body);
    assert.ok(lines.includes('app_requests_total{route="/"} 5'));
    assert.ok(lines.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="redis_kuma-demo_svc_6379-1a2b3c4d5e6f7a8b"} 101'), 'no merge under MeshMetric');
    assert.ok(lines.includes('kuma_dp_envoy_up 0'));
  });

  it("serves MeshMetric: the configuration's apps, Envoy through its profiles, its extra labels on every sample", async () => {
    const envoy = await startFakeEnvoy(tempDir());
    const app = await startMetricsApp({ requests: 7 });
    after(() => app.close());
    const meshMetric: MeshMetricConfig = {
      applications: [{ address: '', port: app.port, path: '/metrics' }],
      sidecar: { profiles: { appendProfiles: [{ name: 'None' }], include: [{ type: 'Exact', match: 'envoy_server_live' }] } },
      extraLabels: { mesh: 'default', 'kuma.proxy_role': 'sidecar' },
    };
    const { socketPath } = await serve({ envoy, apps: [], meshMetric, defaultAddress: () => '127.0.0.1' });
    const lines = samples((await unixGet(socketPath, '/meshmetric/prometheus')).body);
    assert.ok(lines.includes('app_requests_total{route="/",mesh="default",kuma_proxy_role="sidecar"} 7'));
    assert.deepEqual(lines.filter((line) => line.startsWith('envoy_')), ['envoy_server_live{mesh="default",kuma_proxy_role="sidecar"} 1']);
    assert.ok(lines.includes('kuma_dp_envoy_restarts_total{mesh="default",kuma_proxy_role="sidecar"} 0'));
    assert.ok(lines.every((line) => line.includes('mesh="default",kuma_proxy_role="sidecar"')));
    assert.ok(readAdminLog(envoy.dir).some((entry) => entry.path === '/stats?format=prometheus&text_readouts=&usedonly='));
  });

  it('answers GET and HEAD only', async () => {
    const { socketPath } = await serve({});
    assert.equal((await unixGet(socketPath, '/metrics', { method: 'POST' })).status, 405);
    const head = await unixGet(socketPath, '/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 0);
  });
});

describe('the metrics socket file', () => {
  it('is refused while another process serves it, and removed at stop', async () => {
    const first = await serve({});
    const component = createMetricsSocket({ socketPath: first.socketPath, envoyAdmin: () => undefined, applications: () => [], meshMetricConfig: () => undefined });
    await assert.rejects(component.start({ logger: pino({ level: 'silent' }), readiness: new ReadinessGates() }), (error: Error) => {
      assert.equal(error.message, `${first.socketPath} is served by another process (another kuma-dp of this dataplane?); stop it first`);
      return true;
    });
    assert.equal((await unixGet(first.socketPath, '/metrics')).status, 200, 'the first one still serves');
    await first.running.stop();
    assert.ok(!existsSync(first.socketPath));
  });

  it('replaces a stale socket left by a killed process', async () => {
    const socketPath = path.join(tempDir(), 'kuma-mh-backend-default.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}); setInterval(() => {}, 1000)`]);
    await waitUntil(() => existsSync(socketPath), 10_000, 'the holder to listen');
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.ok(lstatSync(socketPath).isSocket(), 'the killed holder left its socket behind');
    const { socketPath: served } = await serve({ socketPath });
    assert.equal((await unixGet(served, '/metrics')).status, 200);
  });

  it('is refused when something other than a socket is there', async () => {
    const socketPath = path.join(tempDir(), 'kuma-mh-backend-default.sock');
    writeFileSync(socketPath, 'not a socket');
    const component = createMetricsSocket({ socketPath, envoyAdmin: () => undefined as AdminAddress | undefined, applications: () => [], meshMetricConfig: () => undefined });
    await assert.rejects(component.start({ logger: pino({ level: 'silent' }), readiness: new ReadinessGates() }), /exists and is not a socket; remove it or choose another work dir/);
  });
});

describe('the metrics socket under load', () => {
  it("answers concurrent scrapes of a large Envoy each in full from its kept buffers, and goes on after scrapers that hang up", async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { stats: { series: 3000 } } });
    const { socketPath } = await serve({ envoy });
    // Cluster series stand still in the fake Envoy; its uptime and the agent's own process metrics do not.
    const clusterLines = (body: string) => samples(body).filter((line) => line.startsWith('envoy_cluster_')).join('\n');
    const first = clusterLines((await unixGet(socketPath, '/metrics')).body);
    assert.ok(first.split('\n').length > 1000, 'a large Envoy');
    const hangUp = () =>
      new Promise<void>((resolve) => {
        const req = http.request({ socketPath, path: '/metrics', agent: false }, (res) => res.destroy());
        req.on('error', () => {});
        req.on('close', () => resolve());
        req.end();
        setImmediate(() => req.destroy());
      });
    const answers = await Promise.all([unixGet(socketPath, '/metrics'), hangUp(), unixGet(socketPath, '/metrics'), hangUp(), unixGet(socketPath, '/metrics')]);
    for (const answer of answers) if (answer) assert.equal(clusterLines(answer.body), first);
    assert.equal(clusterLines((await unixGet(socketPath, '/metrics')).body), first);
  });
});

describe('a pool of buffers', () => {
  it('gives back the smallest kept buffer that fits, keeps the largest within its bound, and takes a lease back whole', () => {
    const pool = new BufferPool(300 * 1024);
    const lease = pool.lease();
    const small = lease.take(100 * 1024);
    const large = lease.take(150 * 1024);
    const tiny = lease.take(10);
    assert.ok(small.length >= 100 * 1024 && large.length >= 150 * 1024 && tiny.length >= 10);
    assert.equal(pool.keptBytes, 0);
    lease.release();
    assert.equal(pool.keptBytes, large.length + small.length, 'the smallest left out: the bound is 300 KiB');
    assert.equal(pool.take(90 * 1024), small);
    assert.equal(pool.take(90 * 1024), large);
    assert.notEqual(pool.take(90 * 1024), small);
  });
});

describe('the scraper', () => {
  it('drops a body beyond its bound, and keeps its connections usable', async () => {
    const app = await startMetricsApp();
    after(() => app.close());
    const scraper = new Scraper(100);
    after(() => scraper.close());
    const target = { name: 'app', url: `http://127.0.0.1:${app.port}/metrics` };
    await assert.rejects(scraper.scrape(target, {}, 5000), /^ScrapeError: app \(http:\/\/127\.0\.0\.1:\d+\/metrics\): more than 100 bytes of metrics$/);
    // Read into kept buffers (as Envoy's answer is), a stated length past the bound is refused before any buffer is made for it.
    const large = http.createServer((_, res) => res.writeHead(200, { 'content-length': 1000 }).end('#'.repeat(1000)));
    await new Promise<void>((resolve) => large.listen(0, '127.0.0.1', resolve));
    after(() => large.close());
    const lease = new BufferPool().lease();
    const taken: number[] = [];
    const spy = { take: (size: number) => (taken.push(size), lease.take(size)) } as unknown as Lease;
    const largeTarget = { name: 'large', url: `http://127.0.0.1:${(large.address() as { port: number }).port}/metrics` };
    await assert.rejects(scraper.scrape(largeTarget, {}, 5000, spy, () => {}), /^ScrapeError: large \(.*\): more than 100 bytes of metrics$/);
    assert.deepEqual(taken, []);
    await assert.rejects(scraper.scrape({ ...target, url: target.url.replace('/metrics', '/other') }, {}, 5000), /answered 404: not found$/);
    const roomy = new Scraper();
    after(() => roomy.close());
    assert.equal((await roomy.scrape(target, {}, 5000)).format, 'text');
  });
});

// The dynamic-configuration poller against the fake Envoy's socket, with a clock the test moves.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import YAML from 'yaml';
import { metricsParts } from '../src/dataplane/metrics.js';
import { metricsSocketPath } from '../src/dataplane/sockets.js';
import { createDynamicConfigPoller, type Consumer, type PollerOptions } from '../src/dynconf/poller.js';
import type { AppliedBootstrap } from '../src/envoy/launcher.js';
import { Feed } from '../src/runtime/feed.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { readDynconfLog } from '../stand-ins/envoy-records.js';
import { writeScenario } from '../stand-ins/scenario.js';
import { tempDir, waitUntil } from './helpers/agent.js';
import { ManualClock } from './helpers/clock.js';
import { startFakeEnvoy } from './helpers/fake-envoy.js';
import { unixGet } from './helpers/unix-http.js';

const INTERVAL_MS = 1000;
const meshMetric = (extraLabels: Record<string, string>) => ({ observability: { metrics: { applications: [], backends: [], extraLabels } } });
const dns = { records: [{ name: 'backend.svc.mesh.local', ips: ['241.0.0.3'] }], ttl: 30 };
const etagOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

async function startPoller(dir: string, routes: Record<string, Consumer>, options: Partial<PollerOptions> = {}) {
  const clock = new ManualClock();
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const poller = createDynamicConfigPoller({ socketPath: `${dir}/kuma-mesh-metric-config.sock`, intervalMs: INTERVAL_MS, clock, ...options });
  for (const [path, consumer] of Object.entries(routes)) poller.register(path, consumer);
  const running = await poller.start({ logger, readiness: new ReadinessGates() });
  after(() => running.stop());
  // A poll is over when the next one is scheduled.
  const polled = () => waitUntil(() => clock.pending().length === 1, 10_000, 'a poll to end');
  const nextPoll = async () => {
    await clock.advance(INTERVAL_MS);
    await polled();
  };
  await polled();
  return { clock, lines, nextPoll, warnings: () => lines.filter((line) => line.level === 40) };
}

describe('the dynamic-configuration poller', () => {
  it('hands each path its JSON, then asks with If-None-Match and gets 304 until it changes', async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/meshmetric': meshMetric({ mesh: 'a' }), '/dns': dns } } });
    const got: Array<[string, unknown]> = [];
    const { nextPoll } = await startPoller(envoy.dir, {
      '/meshmetric': (json) => void got.push(['/meshmetric', json]),
      '/dns': (json) => void got.push(['/dns', json]),
    });
    assert.deepEqual(got, [
      ['/meshmetric', meshMetric({ mesh: 'a' })],
      ['/dns', dns],
    ]);
    await nextPoll();
    assert.equal(got.length, 2, '304: nothing handed on');
    assert.deepEqual(
      readDynconfLog(envoy.dir).map((entry) => [entry.path, entry.ifNoneMatch, entry.status]),
      [
        ['/meshmetric', null, 200],
        ['/dns', null, 200],
        ['/meshmetric', etagOf(meshMetric({ mesh: 'a' })), 304],
        ['/dns', etagOf(dns), 304],
      ],
    );

    writeScenario(envoy.scenarioPath, { dynamicConfig: { '/meshmetric': meshMetric({ mesh: 'b' }), '/dns': dns } });
    await nextPoll();
    assert.deepEqual(got.at(-1), ['/meshmetric', meshMetric({ mesh: 'b' })]);
    assert.equal(got.length, 3);
  });

  it('keeps the last configuration on 404 but forgets its Etag, as Go does', async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/meshmetric': meshMetric({ mesh: 'a' }) } } });
    const got: unknown[] = [];
    const { nextPoll, warnings } = await startPoller(envoy.dir, { '/meshmetric': (json) => void got.push(json) });
    writeScenario(envoy.scenarioPath, { dynamicConfig: {} });
    await nextPoll();
    await nextPoll();
    assert.deepEqual(got, [meshMetric({ mesh: 'a' })]);
    assert.deepEqual(
      readDynconfLog(envoy.dir).map((entry) => [entry.ifNoneMatch, entry.status]),
      [
        [null, 200],
        [etagOf(meshMetric({ mesh: 'a' })), 404],
        [null, 404],
      ],
    );
    assert.deepEqual(warnings(), []);
  });

  it('fetches again in full after its consumer refused a configuration, and says why', async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/meshmetric': { not: 'a mesh metric' } } } });
    let calls = 0;
    const { nextPoll, warnings } = await startPoller(envoy.dir, {
      '/meshmetric': () => {
        calls++;
        throw new Error('no observability.metrics object');
      },
    });
    await nextPoll();
    assert.equal(calls, 2);
    assert.deepEqual(readDynconfLog(envoy.dir).map((entry) => entry.ifNoneMatch), [null, null]);
    assert.deepEqual(warnings().map((line) => [line.event, line.path, line.err]), [['dynconf-failed', '/meshmetric', 'no observability.metrics object']]);
  });

  it('skips quietly while there is no socket, and picks the configuration up once Envoy serves it', async () => {
    const dir = tempDir();
    const got: unknown[] = [];
    const { nextPoll, warnings } = await startPoller(dir, { '/dns': (json) => void got.push(json) });
    await nextPoll();
    await startFakeEnvoy(dir, { scenario: { dynamicConfig: { '/dns': dns } } });
    await nextPoll();
    assert.deepEqual(got, [dns]);
    assert.deepEqual(warnings(), []);
  });

  it('skips quietly when nobody listens on the socket any more (Envoy gone, socket file left)', async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/dns': dns } } });
    const got: unknown[] = [];
    const { nextPoll, warnings, lines } = await startPoller(envoy.dir, { '/dns': (json) => void got.push(json) });
    await envoy.kill();
    await nextPoll();
    assert.deepEqual(got, [dns]);
    assert.deepEqual(warnings(), []);
    assert.equal(lines.at(-1)!.code, 'ECONNREFUSED');
  });

  it('refuses a configuration larger than its bound', async () => {
    const envoy = await startFakeEnvoy(tempDir(), { scenario: { dynamicConfig: { '/dns': dns } } });
    const got: unknown[] = [];
    const { warnings } = await startPoller(envoy.dir, { '/dns': (json) => void got.push(json) }, { maxBodyBytes: 16 });
    assert.deepEqual(got, []);
    assert.match(String(warnings()[0]!.err), /configuration larger than 16 bytes/);
  });

  it('keeps one connection to the socket through 200, 304 and 404 answers', async () => {
    const dir = tempDir();
    let connections = 0;
    const answers: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/dns' && req.headers['if-none-match'] === 'v1') res.writeHead(304).end();
      else if (req.url === '/dns') res.writeHead(200, { etag: 'v1', 'content-type': 'application/json' }).end(JSON.stringify(dns));
      else res.writeHead(404).end('not here');
      answers.push(`${req.url} ${res.statusCode}`);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(`${dir}/kuma-mesh-metric-config.sock`, resolve));
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    const got: unknown[] = [];
    const { nextPoll, warnings } = await startPoller(dir, { '/dns': (json) => void got.push(json), '/meshmetric': () => {} });
    await nextPoll();
    await nextPoll();
    assert.deepEqual(answers, ['/dns 200', '/meshmetric 404', '/dns 304', '/meshmetric 404', '/dns 304', '/meshmetric 404']);
    assert.deepEqual(got, [dns]);
    assert.deepEqual(warnings(), []);
    assert.equal(connections, 1);
  });

  it('polls nothing when nothing is registered, and checks the paths it is given', async () => {
    const clock = new ManualClock();
    const poller = createDynamicConfigPoller({ socketPath: '/nonexistent/kuma-mesh-metric-config.sock', intervalMs: INTERVAL_MS, clock });
    const running = await poller.start({ logger: pino({ level: 'silent' }), readiness: new ReadinessGates() });
    assert.deepEqual(clock.pending(), []);
    await running.stop();
    assert.throws(() => poller.register('dns', () => {}), /must start with \//);
    poller.register('/dns', () => {});
    assert.throws(() => poller.register('/dns', () => {}), /registered twice/);
  });
});

describe('MeshMetric through the poller', () => {
  it('a new configuration changes what /meshmetric serves at the next poll', async () => {
    const dir = tempDir();
    const envoy = await startFakeEnvoy(dir, {
      scenario: {
        dynamicConfig: {
          '/meshmetric': {
            observability: {
              metrics: { applications: [], sidecar: { profiles: { appendProfiles: [{ name: 'Basic' }] } }, extraLabels: { mesh: 'default' } },
            },
          },
        },
      },
    });
    const bootstrap = new Feed<AppliedBootstrap>();
    const yaml = 'staticResources:\n  clusters:\n  - name: system_ads\n';
    bootstrap.publish({ response: { yaml, document: YAML.parseDocument(yaml) }, admin: envoy.admin });
    const clock = new ManualClock();
    const poller = createDynamicConfigPoller({ socketPath: `${dir}/kuma-mesh-metric-config.sock`, intervalMs: INTERVAL_MS, clock });
    const parts = metricsParts({ name: 'backend', mesh: 'default', workDir: dir, bootstrap, poller });
    const context = { logger: pino({ level: 'silent' }), readiness: new ReadinessGates() };
    const socket = await parts.component.start(context);
    after(() => socket.stop());
    const polling = await poller.start(context);
    after(() => polling.stop());
    await waitUntil(() => clock.pending().length === 1, 10_000, 'the first poll');

    const served = async () => (await unixGet(metricsSocketPath(dir, 'backend', 'default'), '/meshmetric')).body.split('\n').filter((line) => line.startsWith('envoy_'));
    const basic = await served();
    assert.ok(basic.includes('envoy_server_live{mesh="default"} 1'));
    assert.ok(basic.some((line) => line.startsWith('envoy_cluster_upstream_rq_total{envoy_cluster_name="localhost_8080"')));
    assert.ok(!basic.some((line) => line.includes('system_ads')), 'Basic drops internal clusters');

    writeScenario(envoy.scenarioPath, {
      dynamicConfig: {
        '/meshmetric': {
          observability: {
            metrics: {
              applications: [],
              sidecar: { profiles: { appendProfiles: [{ name: 'None' }], include: [{ type: 'Prefix', match: 'envoy_server_l' }] } },
              extraLabels: { mesh: 'default', zone: 'east' },
            },
          },
        },
      },
    });
    await clock.advance(INTERVAL_MS);
    await waitUntil(() => clock.pending().length === 1, 10_000, 'the next poll');
    assert.deepEqual(await served(), ['envoy_server_live{mesh="default",zone="east"} 1']);
  });
});

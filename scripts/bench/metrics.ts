import http from 'node:http';
import path from 'node:path';
import { metricsSocketPath } from '../../src/dataplane/sockets.js';
import { freePort } from '../../stand-ins/control-plane.js';
import { writeScenario } from '../../stand-ins/scenario.js';
import { BenchAgent } from './agent.js';
import { rssBytes, sleep, tempDir } from './processes.js';

const LIVE = 'envoy-live';
let serial = 0;

async function metricsAgent(cpUrl: string, options: { args?: string[]; env?: Record<string, string> } = {}): Promise<BenchAgent> {
  return new BenchAgent({ name: `bench-metrics-${process.pid}-${++serial}`, cpUrl, adminPort: await freePort(), ...options });
}

/** One GET, read to its end; resolves with its duration in ms and the body. */
function timedGet(target: { socketPath: string } | { port: number }, urlPath: string): Promise<{ ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const where = 'socketPath' in target ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port };
    const req = http.request({ ...where, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${urlPath} answered ${res.statusCode}`));
        else resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ScrapeRun {
  /** Figure 10: one merged scrape over the metrics socket. */
  mergedMs: number[];
  /** The same Envoy's text fetched from its admin directly, interleaved with those. */
  directMs: number[];
  /** Samples in Envoy's text. */
  series: number;
}

/**
 * Figure 10: an agent whose (fake) Envoy has about `series` more series; scrapes over the metrics
 * socket against direct fetches of Envoy's `/stats?format=prometheus&text_readouts=`, taken in
 * turn after a warm-up, so that both see the same machine load. With `churn` (10b), every one of
 * those series changes from one answer to the next.
 */
export async function scrapeRun(cpUrl: string, series: number, scrapes: number, churn = false): Promise<ScrapeRun> {
  const scenario = path.join(tempDir('kuma-dp-bench-scenario-'), 'scenario.json');
  writeScenario(scenario, { stats: { series, churn } });
  const adminPort = await freePort();
  const agent = new BenchAgent({ name: `bench-metrics-${process.pid}-${++serial}`, cpUrl, adminPort, env: { FAKE_ENVOY_SCENARIO: scenario } });
  try {
    await agent.waitFor(LIVE);
    const socket = { socketPath: metricsSocketPath(agent.workDir, agent.options.name, 'default') };
    const admin = { port: adminPort };
    const direct = '/stats?format=prometheus&text_readouts=';
    const text = (await timedGet(admin, direct)).body;
    for (let i = 0; i < 3; i++) {
      await timedGet(socket, '/metrics');
      await timedGet(admin, direct);
    }
    const mergedMs: number[] = [];
    const directMs: number[] = [];
    for (let i = 0; i < scrapes; i++) {
      mergedMs.push((await timedGet(socket, '/metrics')).ms);
      directMs.push((await timedGet(admin, direct)).ms);
    }
    return { mergedMs, directMs, series: text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length };
  } finally {
    agent.kill('SIGKILL');
    await agent.exited;
  }
}

export interface MetricsIdleRun {
  withMetricsRssBytes: number;
  withoutMetricsRssBytes: number;
}

/**
 * Figure 2m: `count` pairs of idle agents started together, one of each pair with the metrics
 * parts (the default) and one with --no-metrics; RSS `settleMs` after all Envoys are live.
 */
export async function metricsIdleRuns(cpUrl: string, count: number, settleMs: number): Promise<MetricsIdleRun[]> {
  const pairs: Array<[BenchAgent, BenchAgent]> = [];
  for (let i = 0; i < count; i++) pairs.push([await metricsAgent(cpUrl), await metricsAgent(cpUrl, { args: ['--no-metrics'] })]);
  try {
    await Promise.all(pairs.flat().map((agent) => agent.waitFor(LIVE)));
    await sleep(settleMs);
    return pairs.map(([on, off]) => ({ withMetricsRssBytes: rssBytes(on.pid), withoutMetricsRssBytes: rssBytes(off.pid) }));
  } finally {
    for (const agent of pairs.flat()) agent.kill('SIGKILL');
    await Promise.all(pairs.flat().map((agent) => agent.exited));
  }
}

// Figure 9: queries per second and p99 latency for a mesh name over UDP, the agent's DNS proxy
// against a minimal Node UDP server that sends back the same answer bytes, in the same run. Each
// server and the client run in processes of their own, as a resolver and an agent would.
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import packet from 'dns-packet';
import { spawnTracked } from './processes.js';
import type { Figure } from './report.js';
import { median, round } from './stats.js';

const MESH_NAME = 'ratings.svc.mesh.local';
const MESH_VIP = '127.2.0.1';
// Two at a time, as a host's resolvers ask: enough to keep both ends busy without measuring a queue.
const IN_FLIGHT = 2;
const SECONDS = 3;
const here = path.dirname(fileURLToPath(import.meta.url));

export interface DnsRun {
  readonly proxy: LoadResult;
  readonly baseline: LoadResult;
}

interface LoadResult {
  readonly queries: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
}

async function firstLine(args: readonly string[]): Promise<{ line: string; stop: () => void }> {
  const child = spawnTracked(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  while (!text.includes('\n')) {
    const [ended] = await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => ['exit'])]);
    if (ended === 'exit' && !text.includes('\n')) throw new Error(`${args.join(' ')} ended before printing`);
  }
  return { line: text.split('\n')[0]!, stop: () => child.kill('SIGKILL') };
}

/** What the proxy answers for the mesh name: the baseline sends back the very same bytes. */
async function answerOf(port: number): Promise<Buffer> {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  socket.send(packet.encode({ type: 'query', id: 0, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name: MESH_NAME }] }), port, '127.0.0.1');
  const [answer] = (await once(socket, 'message')) as [Buffer];
  socket.close();
  return answer;
}

async function load(port: number): Promise<LoadResult> {
  const { line } = await firstLine([path.join(here, 'dns-load.js'), String(port), MESH_NAME, String(IN_FLIGHT), String(SECONDS)]);
  return JSON.parse(line) as LoadResult;
}

export async function dnsRun(): Promise<DnsRun> {
  const server = path.join(here, 'dns-server.js');
  const proxyServer = await firstLine([server, 'proxy', MESH_NAME, MESH_VIP]);
  const baselineServer = await firstLine([server, 'baseline', (await answerOf(Number(proxyServer.line))).toString('hex')]);
  try {
    const proxy = await load(Number(proxyServer.line));
    const baseline = await load(Number(baselineServer.line));
    return { proxy, baseline };
  } finally {
    proxyServer.stop();
    baselineServer.stop();
  }
}

export function dnsFigures(runs: readonly DnsRun[]): Figure[] {
  const qps = (r: LoadResult) => r.queries / r.seconds;
  const proxyQps = runs.map((r) => qps(r.proxy));
  const baselineQps = runs.map((r) => qps(r.baseline));
  const ratio = median(proxyQps) / median(baselineQps);
  const p99 = runs.map((r) => r.proxy.p99Ms);
  return [
    {
      id: '9a',
      name: `DNS: a mesh name over UDP, ${IN_FLIGHT} queries in flight`,
      unit: 'queries/s',
      value: round(median(proxyQps), 0),
      baseline: round(median(baselineQps), 0),
      baselineName: 'minimal Node UDP server',
      ratio: round(ratio, 2),
      goal: '≥ 0.5x',
      met: ratio >= 0.5,
      runs: proxyQps.map((v) => round(v, 0)),
      note: `lost (unanswered in 200 ms): ${runs.map((r) => r.proxy.lost).join(', ')}`,
    },
    {
      id: '9b',
      name: '… p99 latency',
      unit: 'ms',
      value: round(median(p99), 3),
      baseline: round(median(runs.map((r) => r.baseline.p99Ms)), 3),
      baselineName: 'minimal Node UDP server',
      ratio: round(median(p99) / median(runs.map((r) => r.baseline.p99Ms)), 2),
      goal: '< 1 ms',
      met: median(p99) < 1,
      runs: p99.map((v) => round(v, 3)),
    },
  ];
}

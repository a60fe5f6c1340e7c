import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from '../../stand-ins/control-plane.js';
import { BenchAgent, envoyLineTime, lineTime } from './agent.js';
import { bareIdle, bareStartAllMs, bareStartMs, fakeEnvoyVersionMs } from './baseline.js';
import { fakeEnvoyBin } from '../../stand-ins/paths.js';
import { cpuMs, exited, rssBytes, sleep, spawnTracked, tempDir } from './processes.js';

const LIVE = 'envoy-live';
const STARTED = 'envoy-started';
export const DRAIN_MS = 500;
export const BACKOFF_MS = 200;

let serial = 0;
async function startAgent(cpUrl: string): Promise<BenchAgent> {
  return new BenchAgent({
    name: `bench-${process.pid}-${++serial}`,
    cpUrl,
    adminPort: await freePort(),
    drainTime: `${DRAIN_MS}ms`,
    restartBackoff: `${BACKOFF_MS}ms`,
  });
}

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Date.now()));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface LifecycleRun {
  /** Figure 1: exec of kuma-dp → the fake Envoy's own start record. */
  startToEnvoyMs: number;
  /** Exec of kuma-dp → its `Envoy started` line (right after the spawn). */
  startToSpawnMs: number;
  /** The fake Envoy's own boot: the agent's spawn → the fake's start record. */
  fakeEnvoyBootMs: number;
  /** Figure 4: the fake Envoy's last line before dying → the agent's next `Envoy started`, less the backoff. */
  crashToRespawnMs: number;
  /** Figure 5: SIGTERM → the agent's exit, less the drain time. */
  stopOverheadMs: number;
  /** Bare `node -e 0` and the fake `envoy --version`, measured right before this run. */
  bareStartMs: number;
  envoyVersionMs: number;
}

/** Figures 1, 4 and 5 on one agent: start, crash its Envoy, stop it. */
export async function lifecycleRun(cpUrl: string): Promise<LifecycleRun> {
  const bare = await bareStartMs();
  const version = await fakeEnvoyVersionMs();
  const agent = await startAgent(cpUrl);
  try {
    const spawned = await agent.waitFor(STARTED);
    const record = await agent.startRecord(1);
    await agent.waitFor(LIVE);

    const answered = await post(agent.options.adminPort!, '/fake/crash?code=1');
    const respawned = await agent.waitFor(STARTED, 2);
    const crashLine = agent.lines.find((line) => String(line.msg).includes('fake crash'));
    const deathAt = (crashLine && envoyLineTime(String(crashLine.msg))) ?? answered;
    await agent.waitFor(LIVE, 2);

    const term = Date.now();
    agent.kill('SIGTERM');
    const end = await agent.exited;
    if (end.code !== 0) throw new Error(`${agent.options.name} exited with ${end.code ?? end.signal} after SIGTERM`);
    return {
      startToEnvoyMs: Date.parse(record.time) - agent.startedAt,
      startToSpawnMs: lineTime(spawned) - agent.startedAt,
      fakeEnvoyBootMs: Date.parse(record.time) - lineTime(spawned),
      crashToRespawnMs: lineTime(respawned) - deathAt - BACKOFF_MS,
      stopOverheadMs: end.at - term - DRAIN_MS,
      bareStartMs: bare,
      envoyVersionMs: version,
    };
  } finally {
    agent.kill('SIGKILL');
  }
}

export interface IdleRun {
  agentRssBytes: number;
  bareRssBytes: number;
  /** CPU time over the window as a percentage of one core. */
  agentCpuPercent: number;
  bareCpuPercent: number;
  /** The same over the window right after: the first still holds one-off work after the start. */
  agentSteadyCpuPercent: number;
}

/**
 * Figures 2 and 3: `count` agents (each with its Envoy) and as many bare idle Node processes,
 * started together; RSS `settleMs` after the last Envoy is live, then CPU time over `windowMs`.
 */
export async function idleRuns(cpUrl: string, count: number, settleMs: number, windowMs: number): Promise<IdleRun[]> {
  const agents: BenchAgent[] = [];
  for (let i = 0; i < count; i++) agents.push(await startAgent(cpUrl));
  const bares = agents.map(() => bareIdle());
  try {
    await Promise.all(agents.map((agent) => agent.waitFor(LIVE)));
    await sleep(settleMs);
    const rss = agents.map((agent) => rssBytes(agent.pid));
    const bareRss = bares.map((bare) => rssBytes(bare.pid!));
    const cpu0 = agents.map((agent) => cpuMs(agent.pid));
    const bareCpu0 = bares.map((bare) => cpuMs(bare.pid!));
    const window = async (before: readonly number[], pids: readonly number[]) => {
      const t0 = Date.now();
      await sleep(windowMs);
      const elapsed = Date.now() - t0;
      const after = pids.map(cpuMs);
      return { percents: after.map((cpu, i) => ((cpu - before[i]!) / elapsed) * 100), after };
    };
    const pids = [...agents.map((agent) => agent.pid), ...bares.map((bare) => bare.pid!)];
    const first = await window([...cpu0, ...bareCpu0], pids);
    const steady = await window(first.after, pids);
    return agents.map((_, i) => ({
      agentRssBytes: rss[i]!,
      bareRssBytes: bareRss[i]!,
      agentCpuPercent: first.percents[i]!,
      bareCpuPercent: first.percents[agents.length + i]!,
      agentSteadyCpuPercent: steady.percents[i]!,
    }));
  } finally {
    await stopAll(agents);
    for (const bare of bares) bare.kill('SIGKILL');
  }
}

export interface ScaleRun {
  /** All agents started at once → the last one's `Envoy is live and has its configuration`. */
  allLiveMs: number;
  /** The CPU time (user + system) the agents had used by then, all together; their Envoys' not counted. */
  totalAgentCpuMs: number;
  /** As many bare `node -e 0` started at once → the last one's exit. */
  bareAllStartedMs: number;
  totalAgentRssBytes: number;
  totalBareRssBytes: number;
}

/** Figure 6: `count` agents started at once on this host, against `count` bare Node processes. */
export async function scaleRun(cpUrl: string, count: number, settleMs: number): Promise<ScaleRun> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const started = Date.now();
  const agents = ports.map(
    (adminPort) => new BenchAgent({ name: `bench-${process.pid}-${++serial}`, cpUrl, adminPort, drainTime: `${DRAIN_MS}ms` }),
  );
  try {
    const live = await Promise.all(agents.map((agent) => agent.waitFor(LIVE, 1, 60_000)));
    const totalAgentCpuMs = agents.reduce((sum, agent) => sum + cpuMs(agent.pid), 0);
    const allLiveMs = Math.max(...live.map(lineTime)) - started;
    await sleep(settleMs);
    const totalAgentRssBytes = agents.reduce((sum, agent) => sum + rssBytes(agent.pid), 0);
    await stopAll(agents);

    const bareAllStartedMs = await bareStartAllMs(count);
    const bares = Array.from({ length: count }, () => bareIdle());
    try {
      await sleep(settleMs);
      const totalBareRssBytes = bares.reduce((sum, bare) => sum + rssBytes(bare.pid!), 0);
      return { allLiveMs, totalAgentCpuMs, bareAllStartedMs, totalAgentRssBytes, totalBareRssBytes };
    } finally {
      for (const bare of bares) bare.kill('SIGKILL');
    }
  } finally {
    await stopAll(agents);
  }
}

/** SIGTERM, then SIGKILL whatever did not exit within the drain time and a margin. */
async function stopAll(agents: readonly BenchAgent[]): Promise<void> {
  const running = agents.filter((agent) => agent.child.exitCode === null && agent.child.signalCode === null);
  for (const agent of running) agent.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach((agent) => agent.kill('SIGKILL')), DRAIN_MS + 5000);
  await Promise.all(running.map((agent) => agent.exited));
  clearTimeout(timer);
}


export interface FleetRun {
  /** One agent with `count` dataplanes: its exec → the last of their Envoys live. */
  allLiveMs: number;
  /** The CPU time (user + system) that agent had used by then. */
  cpuMs: number;
  /** That agent's RSS once all are live and settled. */
  rssBytes: number;
}

/** Figure 7: one agent in fleet mode running `count` dataplanes, each with its own (fake) Envoy. */
export async function fleetRun(cpUrl: string, count: number, settleMs: number): Promise<FleetRun> {
  const dir = tempDir('kuma-dp-bench-fleet-');
  const run = ++serial;
  for (let i = 1; i <= count; i++) {
    writeFileSync(path.join(dir, `dp-${i}.yaml`), `name: fleet-${process.pid}-${run}-${i}\nadmin-port: ${await freePort()}\n`, { mode: 0o644 });
  }
  const started = Date.now();
  const agent = new BenchAgent({ name: `fleet-${process.pid}-${run}`, cpUrl, fleetDir: dir, drainTime: `${DRAIN_MS}ms` });
  try {
    const last = await agent.waitFor(LIVE, count, 120_000);
    const used = cpuMs(agent.pid);
    const allLiveMs = lineTime(last) - started;
    await sleep(settleMs);
    return { allLiveMs, cpuMs: used, rssBytes: rssBytes(agent.pid) };
  } finally {
    await stopAll([agent]);
  }
}

/**
 * Figure 8d: `count` fake Envoys started directly, no agent, each with a bootstrap of its own:
 * time until every one answers `/ready`. What any agent's figure 8a includes, on this host.
 */
export async function envoysAloneRun(count: number): Promise<number> {
  const envoys: Array<{ dir: string; port: number }> = [];
  for (let i = 0; i < count; i++) {
    const dir = tempDir('kuma-dp-bench-envoy-');
    const port = await freePort();
    writeFileSync(path.join(dir, 'bootstrap.yaml'), `admin:\n  address: {socketAddress: {address: 127.0.0.1, portValue: ${port}}}\nstaticResources:\n  clusters:\n  - name: system_ads\n`);
    envoys.push({ dir, port });
  }
  const ready = (port: number) =>
    new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
  const started = Date.now();
  const children = envoys.map(({ dir }) =>
    spawnTracked(fakeEnvoyBin, ['--config-path', path.join(dir, 'bootstrap.yaml'), '--disable-hot-restart'], { env: { ...process.env, FAKE_ENVOY_RECORD_DIR: dir }, stdio: 'ignore' }),
  );
  try {
    const live = new Set<number>();
    while (live.size < count) {
      if (Date.now() - started > 60_000) throw new Error(`only ${live.size} of ${count} fake Envoys live after 60 s`);
      await Promise.all(envoys.map(async ({ port }) => !live.has(port) && (await ready(port)) && live.add(port)));
      await sleep(10);
    }
    return Date.now() - started;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => exited(child)));
  }
}

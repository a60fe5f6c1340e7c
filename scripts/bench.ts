// `npm run bench`: what one kuma-dp costs on its host, against a bare Node process measured in the
// same run, with the project's fake kuma-cp and fake Envoy (test/stand-ins). Prints a Markdown
// table and writes the same figures to bench/results.json. Not a test: nothing here fails a build.
import os from 'node:os';
import path from 'node:path';
import { startControlPlane } from '../stand-ins/control-plane.js';
import { repoRoot } from '../stand-ins/paths.js';
import { accessLogFigures, accessLogRun, type AccessLogRun } from './bench/access-logs.js';
import { agentEntry } from './bench/agent.js';
import { BACKOFF_MS, DRAIN_MS, envoysAloneRun, fleetRun, idleRuns, lifecycleRun, scaleRun, type FleetRun, type LifecycleRun } from './bench/figures.js';
import { dnsFigures, dnsRun, type DnsRun } from './bench/dns.js';
import { metricsIdleRuns, scrapeRun } from './bench/metrics.js';
import { cleanup, cleanupOnExit } from './bench/processes.js';
import { table, writeResults, type Figure } from './bench/report.js';
import { median, round } from './bench/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SCALE = Number(process.env.BENCH_SCALE ?? 20);
const SCALE_RUNS = Number(process.env.BENCH_SCALE_RUNS ?? 3);
/** The bookinfo host: six dataplanes. */
const FLEET_SMALL = 6;
const ACCESS_LOG_LINES = Number(process.env.BENCH_ACCESS_LOG_LINES ?? 200_000);
const SETTLE_MS = 5000;
const CPU_WINDOW_MS = 10_000;
const SCRAPE_SERIES = 10_000;
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 30);
const MB = 1024 * 1024;

const progress = (text: string) => process.stderr.write(`bench: ${text}\n`);

function ratioFigure(
  id: string,
  name: string,
  unit: Figure['unit'],
  runs: readonly number[],
  baselineRuns: readonly number[],
  baselineName: string,
  maxRatio: number | undefined,
  note?: string,
): Figure {
  const value = median(runs);
  const baseline = median(baselineRuns);
  const ratio = value / baseline;
  return {
    id,
    name,
    unit,
    value: round(value, 2),
    baseline: round(baseline, 2),
    baselineName,
    ratio: round(ratio, 2),
    ...(maxRatio !== undefined && { goal: `≤ ${maxRatio}x`, met: ratio <= maxRatio }),
    runs: runs.map((r) => round(r, 2)),
    ...(note && { note }),
  };
}

function limitFigure(id: string, name: string, unit: Figure['unit'], runs: readonly number[], below: number, note?: string): Figure {
  const value = median(runs);
  return {
    id,
    name,
    unit,
    value: round(value, 2),
    goal: `< ${below} ${unit === 'ms' ? 'ms' : '%'}`,
    met: value < below,
    runs: runs.map((r) => round(r, 2)),
    ...(note && { note }),
  };
}

async function main(): Promise<void> {
  cleanupOnExit();
  const began = Date.now();
  const cp = await startControlPlane({ generation: 'modern' });
  try {
    progress(`agent ${path.relative(repoRoot, agentEntry)}, fake kuma-cp at ${cp.url}; ${RUNS} runs per figure`);

    progress('warm-up run (discarded)');
    await lifecycleRun(cp.url);
    const life: LifecycleRun[] = [];
    for (let i = 1; i <= RUNS; i++) {
      progress(`figures 1, 4, 5: run ${i}/${RUNS}`);
      life.push(await lifecycleRun(cp.url));
    }
    const pick = (key: keyof LifecycleRun) => life.map((run) => run[key]);

    progress(`figures 2, 3: ${RUNS} idle agents and ${RUNS} idle bare Node processes, ${SETTLE_MS / 1000}s + 2 × ${CPU_WINDOW_MS / 1000}s`);
    const idle = await idleRuns(cp.url, RUNS, SETTLE_MS, CPU_WINDOW_MS);

    progress(`figure 10: ${SCRAPES} merged scrapes of an Envoy with ${SCRAPE_SERIES} more series, and as many direct fetches`);
    const scrape = await scrapeRun(cp.url, SCRAPE_SERIES, SCRAPES);
    progress(`figure 10b: the same with every one of those series changing between two answers`);
    const churning = await scrapeRun(cp.url, SCRAPE_SERIES, SCRAPES, true);
    progress(`figure 2m: ${RUNS} idle agents with the metrics parts and ${RUNS} with --no-metrics, ${SETTLE_MS / 1000}s`);
    const metricsIdle = await metricsIdleRuns(cp.url, RUNS, SETTLE_MS);
    const withMetrics = metricsIdle.map((run) => run.withMetricsRssBytes / MB);
    const withoutMetrics = metricsIdle.map((run) => run.withoutMetricsRssBytes / MB);
    const metricsCost = median(withMetrics) - median(withoutMetrics);

    const scale = [];
    for (let i = 1; i <= SCALE_RUNS; i++) {
      progress(`figure 6: ${SCALE} agents at once, run ${i}/${SCALE_RUNS}`);
      scale.push(await scaleRun(cp.url, SCALE, SETTLE_MS));
    }

    const small = [];
    const fleetSmall: FleetRun[] = [];
    const fleetLarge: FleetRun[] = [];
    const envoysAlone: number[] = [];
    for (let i = 1; i <= SCALE_RUNS; i++) {
      progress(`figure 7: ${FLEET_SMALL} separate agents, then one agent with ${FLEET_SMALL} dataplanes, run ${i}/${SCALE_RUNS}`);
      small.push(await scaleRun(cp.url, FLEET_SMALL, SETTLE_MS));
      fleetSmall.push(await fleetRun(cp.url, FLEET_SMALL, SETTLE_MS));
      progress(`figure 8: one agent with ${SCALE} dataplanes, then ${SCALE} fake Envoys alone, run ${i}/${SCALE_RUNS}`);
      fleetLarge.push(await fleetRun(cp.url, SCALE, SETTLE_MS));
      envoysAlone.push(await envoysAloneRun(SCALE));
    }

    const dns: DnsRun[] = [];
    for (let i = 1; i <= RUNS; i++) {
      progress(`figure 9: a mesh name over UDP, the DNS proxy then a minimal Node UDP server, run ${i}/${RUNS}`);
      dns.push(await dnsRun());
    }

    const logs: AccessLogRun[] = [];
    for (let i = 1; i <= RUNS; i++) {
      progress(`figure 11: ${ACCESS_LOG_LINES} access-log lines through the streamer and by a plain copy, run ${i}/${RUNS}`);
      logs.push(await accessLogRun(ACCESS_LOG_LINES));
    }

    const agentOwn = life.map((run) => run.startToEnvoyMs - run.envoyVersionMs - run.fakeEnvoyBootMs);
    const figures: Figure[] = [
      ratioFigure('1', 'Start to Envoy start', 'ms', pick('startToEnvoyMs'), pick('bareStartMs'), 'node -e 0', 4,
        "kuma-dp exec → the fake Envoy's own start record; includes the fake's `envoy --version` and its boot (a Node start)"),
      ratioFigure('1a', '… kuma-dp exec → spawn', 'ms', pick('startToSpawnMs'), pick('bareStartMs'), 'node -e 0', undefined,
        "to the agent's `Envoy started` line, right after the spawn"),
      ratioFigure('1b', '… fake `envoy --version` alone', 'ms', pick('envoyVersionMs'), pick('bareStartMs'), 'node -e 0', undefined,
        "answered by the stand-in's shell wrapper, as a real Envoy binary answers it in a few ms"),
      ratioFigure('1c', "… fake Envoy's boot", 'ms', pick('fakeEnvoyBootMs'), pick('bareStartMs'), 'node -e 0', undefined,
        "the agent's spawn → the fake's start record"),
      ratioFigure('1d', "… kuma-dp's own share (1 − 1b − 1c)", 'ms', agentOwn, pick('bareStartMs'), 'node -e 0', 4,
        "figure 1 without the fake Envoy's two Node starts"),
      ratioFigure('2', `Idle RSS, ${SETTLE_MS / 1000}s after Envoy is live`, 'MB', idle.map((r) => r.agentRssBytes / MB),
        idle.map((r) => r.bareRssBytes / MB), 'idle node', 1.5),
      {
        ...ratioFigure('2m', '… with the metrics parts on', 'MB', withMetrics, withoutMetrics, '--no-metrics', undefined,
          'kuma-dp with the metrics socket, the dynamic-configuration poller and its own metrics, against kuma-dp --no-metrics, started together'),
        goal: '≤ +5 MB',
        met: metricsCost <= 5,
      },
      limitFigure('3', `Idle CPU over ${CPU_WINDOW_MS / 1000}s`, '% of a core', idle.map((r) => r.agentCpuPercent), 0.5,
        `bare idle Node: ${round(median(idle.map((r) => r.bareCpuPercent)), 3)}%`),
      limitFigure('3b', `… the next ${CPU_WINDOW_MS / 1000}s`, '% of a core', idle.map((r) => r.agentSteadyCpuPercent), 0.5,
        "steady state: the first window holds V8's one-off memory-reducing mark-compacts, about 8 s after the start"),
      limitFigure('4', `Crash to respawn, less the ${BACKOFF_MS}ms backoff`, 'ms', pick('crashToRespawnMs'), 50,
        "the fake Envoy's last line → the agent's next `Envoy started`; includes the fresh bootstrap fetch"),
      limitFigure('5', `Stop overhead, less the ${DRAIN_MS}ms drain`, 'ms', pick('stopOverheadMs'), 250,
        'SIGTERM → the agent exits; includes Envoy (the fake) shutting down'),
      ratioFigure('6a', `${SCALE} agents at once: all Envoys live`, 'ms', scale.map((r) => r.allLiveMs),
        scale.map((r) => r.bareAllStartedMs), `${SCALE}× node -e 0`, undefined,
        `${SCALE} agents + ${SCALE} fake Envoys on ${os.availableParallelism()} CPUs`),
      ratioFigure('6b', `${SCALE} agents at once: total agent RSS`, 'MB', scale.map((r) => r.totalAgentRssBytes / MB),
        scale.map((r) => r.totalBareRssBytes / MB), `${SCALE}× idle node`, undefined),
      ratioFigure('7a', `Fleet of ${FLEET_SMALL}: all Envoys live`, 'ms', fleetSmall.map((r) => r.allLiveMs),
        small.map((r) => r.allLiveMs), `${FLEET_SMALL} separate agents`, undefined, 'one agent with --dataplanes-dir'),
      ratioFigure('7b', `Fleet of ${FLEET_SMALL}: agent RSS`, 'MB', fleetSmall.map((r) => r.rssBytes / MB),
        small.map((r) => r.totalAgentRssBytes / MB), `${FLEET_SMALL} separate agents`, undefined),
      ratioFigure('8a', `Fleet of ${SCALE}: all Envoys live`, 'ms', fleetLarge.map((r) => r.allLiveMs),
        scale.map((r) => r.allLiveMs), `${SCALE} separate agents`, 0.33, 'goal: at least 3× sooner'),
      ratioFigure('8b', `Fleet of ${SCALE}: agent RSS`, 'MB', fleetLarge.map((r) => r.rssBytes / MB),
        idle.map((r) => r.agentRssBytes / MB), 'one idle single-dataplane agent', 2),
      ratioFigure('8c', `Fleet of ${SCALE}: agent RSS against ${SCALE} agents`, 'MB', fleetLarge.map((r) => r.rssBytes / MB),
        scale.map((r) => r.totalAgentRssBytes / MB), `${SCALE} separate agents`, undefined),
      ratioFigure('8d', `Fleet of ${SCALE}: all Envoys live, against its Envoys alone`, 'ms', fleetLarge.map((r) => r.allLiveMs),
        envoysAlone, `${SCALE} fake Envoys started directly`, undefined,
        'the floor of 8a and 6a on this host: the fake Envoys are Node processes, started with no agent'),
      ratioFigure('8e', `Fleet of ${SCALE}: agent CPU time until all are live`, 'ms', fleetLarge.map((r) => r.cpuMs),
        scale.map((r) => r.totalAgentCpuMs), `${SCALE} separate agents`, undefined,
        "user + system time of the agent processes alone, their Envoys' not counted: the work 8a's fleet saves"),
      ...dnsFigures(dns),
      ...accessLogFigures(logs),
    ];

    figures.push(
      ratioFigure('10', `Merged scrape, Envoy with ${scrape.series} series`, 'ms', scrape.mergedMs, scrape.directMs, "Envoy's text fetched directly", 2,
        "GET /metrics on the metrics socket (Envoy's text fetched, parsed, rewritten, joined with kuma-dp's own) against GET /stats?format=prometheus on the fake Envoy, in turn; the fake's values stand still between answers"),
      ratioFigure('10b', '… every series changing between answers', 'ms', churning.mergedMs, churning.directMs, "Envoy's text fetched directly", 2,
        'the same, with every counter of the extra series grown by one from one answer to the next (a busy Envoy)'),
    );
    const rendered = table(figures);
    process.stdout.write(`\n${rendered}\n\n`);
    process.stdout.write(
      'Medians; ratios against a bare Node process measured in the same run. The fake Envoy is a Node script:\n' +
        'its boot (1c) is a Node start inside figure 1 that a real Envoy would not cost.\n',
    );
    const results = {
      date: new Date().toISOString(),
      durationS: round((Date.now() - began) / 1000, 1),
      host: {
        node: process.version,
        platform: `${os.type()} ${os.release()} ${os.arch()}`,
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryMB: Math.round(os.totalmem() / MB),
      },
      agentEntry: path.relative(repoRoot, agentEntry),
      settings: { runs: RUNS, scale: SCALE, scaleRuns: SCALE_RUNS, accessLogLines: ACCESS_LOG_LINES, settleMs: SETTLE_MS, cpuWindowMs: CPU_WINDOW_MS, drainMs: DRAIN_MS, backoffMs: BACKOFF_MS },
      figures,
      table: rendered,
    };
    const file = path.join(repoRoot, 'bench', 'results.json');
    writeResults(file, results);
    progress(`wrote ${path.relative(process.cwd(), file) || file} in ${results.durationS}s`);
  } finally {
    cleanup();
    await cp.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  cleanup();
  process.exit(1);
});

import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startLogCollector } from '../../stand-ins/log-collector.js';
import { agentEntry } from './agent.js';
import { exited, spawnTracked, tempDir } from './processes.js';
import type { Figure } from './report.js';
import { median, round } from './stats.js';

/** Big enough that nothing is dropped: the figure is throughput, not the buffer. */
const BUFFER_BYTES = 64 * 1024 * 1024;
const RUN_TIMEOUT_MS = 120_000;

/** The node flags of the agent's `#!` line, so that the streamer runs as it does in the agent. */
function agentNodeFlags(): string[] {
  const shebang = readFileSync(agentEntry, 'utf8').split('\n', 1)[0]!;
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

export interface AccessLogRun {
  /** Lines per second through the streamer: `cat` into the pipe → the collector. */
  streamerLinesPerS: number;
  /** Lines per second of a plain Node copy of the same file into a collector. */
  copyLinesPerS: number;
  /** The same, per second of CPU time each process used: steadier on a busy host. */
  streamerLinesPerCpuS: number;
  copyLinesPerCpuS: number;
  /** Lines the streamer dropped (should be 0). */
  dropped: number;
}

/**
 * `lines` access-log entries as Envoy renders Kuma's default MeshAccessLog TCP format (JSON with
 * a string message), written to a file; returns it with the bytes the collector should receive.
 */
export function accessLogInput(lines: number, address: string): { file: string; messageBytes: number } {
  const file = path.join(tempDir('kuma-dp-bench-al-'), 'access.log');
  let text = '';
  let messageBytes = 0;
  for (let i = 0; i < lines; i++) {
    const message =
      `[2024-05-01T10:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z] - default ` +
      `127.0.0.1(unknown)->10.0.${(i >> 8) % 256}.${i % 256}:8080(other-meshservice-tcp) took ${i % 97}ms, ` +
      `sent ${(i * 7) % 10_000} bytes, received: ${(i * 13) % 10_000} bytes\n`;
    text += `${JSON.stringify({ address, message })}\n`;
    messageBytes += Buffer.byteLength(message);
  }
  writeFileSync(file, text);
  return { file, messageBytes };
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${RUN_TIMEOUT_MS}ms`)), RUN_TIMEOUT_MS)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Figure 7, one run: the same file goes (a) through the streamer, written into its pipe by `cat`
 * as Envoy would write it, and (b) straight into a collector by a Node `pipe()`. Each rate counts
 * from the collector's first byte to its last, so that neither side's process start is in it.
 */
export async function accessLogRun(lines: number): Promise<AccessLogRun> {
  // The address in the lines must be the collector's, so the collector comes first.
  const sink = await startLogCollector({ keep: false });
  const copySink = await startLogCollector({ keep: false });
  try {
    const input = accessLogInput(lines, sink.address);
    const inputBytes = readFileSync(input.file).length;

    const copier = spawnTracked(process.execPath, [path.join(import.meta.dirname, 'access-log-copy.js'), input.file, String(copySink.port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const copied = createInterface({ input: copier.stdout! })[Symbol.asyncIterator]();
    const copyEnd = await within(copySink.receivedBytes(inputBytes), 'plain copy');
    const copyCpu = JSON.parse(String((await within(copied.next(), 'plain copy')).value)) as { cpuMs: number };
    await exited(copier);
    const copyMs = copyEnd - copySink.firstByteAt!;

    const pipePath = path.join(path.dirname(input.file), 'kuma-al-bench-default.sock');
    const child = spawnTracked(process.execPath, [...agentNodeFlags(), path.join(import.meta.dirname, 'access-log-streamer.js'), pipePath, String(BUFFER_BYTES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const output = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    if ((await within(output.next(), 'streamer start')).value !== 'ready') throw new Error('the bench streamer did not start');
    const pipe = openSync(pipePath, 'w');
    const writer = spawnTracked('cat', [input.file], { stdio: ['ignore', pipe, 'inherit'] });
    closeSync(pipe);
    const end = await within(sink.receivedBytes(input.messageBytes), 'streamer');
    const streamMs = end - sink.firstByteAt!;
    await exited(writer);
    child.kill('SIGTERM');
    const stats = JSON.parse(String((await within(output.next(), 'streamer stop')).value)) as { dropped: number; cpuMs: number };
    await exited(child);
    return {
      streamerLinesPerS: (lines * 1000) / streamMs,
      copyLinesPerS: (lines * 1000) / copyMs,
      streamerLinesPerCpuS: (lines * 1000) / stats.cpuMs,
      copyLinesPerCpuS: (lines * 1000) / copyCpu.cpuMs,
      dropped: stats.dropped,
    };
  } finally {
    await sink.close();
    await copySink.close();
  }
}

/** Figures 11 and 11b: the streamer's rate against the plain copy's, by the clock and by CPU time. */
export function accessLogFigures(runs: readonly AccessLogRun[]): Figure[] {
  const against = (id: string, name: string, unit: Figure['unit'], value: (run: AccessLogRun) => number, baseline: (run: AccessLogRun) => number, note: string) => ({
    id,
    name,
    unit,
    value: round(median(runs.map(value)), 0),
    baseline: round(median(runs.map(baseline)), 0),
    baselineName: 'plain copy',
    ratio: round(median(runs.map(value)) / median(runs.map(baseline)), 2),
    runs: runs.map((run) => round(value(run), 0)),
    note,
  });
  const dropped = runs.reduce((sum, run) => sum + run.dropped, 0);
  const rate = against('11', 'Access-log lines through the streamer', 'lines/s', (r) => r.streamerLinesPerS, (r) => r.copyLinesPerS,
    `\`cat\` into the pipe → a TCP collector, first byte to last; dropped: ${dropped}`);
  return [
    { ...rate, goal: '≥ 0.5x', met: rate.ratio >= 0.5 },
    against('11b', '… per second of CPU time', 'lines/CPU-s', (r) => r.streamerLinesPerCpuS, (r) => r.copyLinesPerCpuS,
      'CPU time of the streamer and of the copying process while they move the lines'),
  ];
}

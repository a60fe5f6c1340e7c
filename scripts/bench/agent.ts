import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readStarts, type StartRecord } from '../../stand-ins/envoy-records.js';
import { repoRoot } from '../../stand-ins/paths.js';
import { exited, sleep, spawnTracked, tempDir, trackPid } from './processes.js';

/** The agent's CLI as installed: whatever package.json's `bin` points at. */
export const agentEntry = (() => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return path.join(repoRoot, manifest.bin['kuma-dp']!);
})();
const standInBin = path.join(repoRoot, 'stand-ins', 'bin');

export type LogLine = Record<string, unknown> & { msg: string; time?: string };

export interface BenchAgentOptions {
  readonly name: string;
  readonly cpUrl: string;
  /** One dataplane with this admin port, or a fleet: every dataplane described in this directory. */
  readonly adminPort?: number;
  readonly fleetDir?: string;
  readonly drainTime?: string;
  readonly restartBackoff?: string;
  /** More flags for `kuma-dp run` (e.g. --no-metrics). */
  readonly args?: readonly string[];
  /** More environment (e.g. FAKE_ENVOY_SCENARIO). */
  readonly env?: Readonly<Record<string, string>>;
}

/** One `kuma-dp run` under the fake Envoy, with its JSON log lines and its Envoy's start records. */
export class BenchAgent {
  readonly child: ChildProcess;
  /** Date.now() right before the exec. */
  readonly startedAt: number;
  readonly recordDir: string;
  /** The agent's work dir (its sockets are there). */
  readonly workDir: string;
  readonly lines: LogLine[] = [];
  readonly exited: ReturnType<typeof exited>;
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  constructor(readonly options: BenchAgentOptions) {
    const dir = tempDir('kuma-dp-bench-');
    this.recordDir = path.join(dir, 'records');
    this.workDir = path.join(dir, 'config');
    const one = options.fleetDir === undefined
      ? ['--name', options.name, '--admin-port', String(options.adminPort), '--config-dir', this.workDir]
      : ['--dataplanes-dir', options.fleetDir];
    const args = [
      'run',
      ...one,
      '--cp-address', options.cpUrl,
      '--readiness-port', '0',
      '--drain-time', options.drainTime ?? '500ms',
      '--envoy-restart-backoff', options.restartBackoff ?? '200ms',
      ...(options.args ?? []),
    ];
    const env = {
      PATH: `${standInBin}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/',
      TMPDIR: dir,
      KUMA_CONTROL_PLANE_RETRY_BACKOFF: '100ms',
      FAKE_ENVOY_RECORD_DIR: this.recordDir,
      ...options.env,
    };
    this.startedAt = Date.now();
    // Exec'd as an operator runs it, so that the node flags of its #! line apply.
    this.child = spawnTracked(agentEntry, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = exited(this.child);
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
      const complete = (partial + chunk).split('\n');
      partial = complete.pop()!;
      for (const text of complete) {
        try {
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          if (typeof line.envoyPid === 'number') trackPid(line.envoyPid);
        } catch {
          // not a JSON line
        }
      }
      for (const waiter of this.waiters) waiter();
    });
    void this.exited.then(() => {
      for (const waiter of this.waiters) waiter();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The n-th line (counting from 1) of this `event`, past or future. */
  waitFor(text: string, nth = 1, timeoutMs = 15_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.filter((line) => line.event === text)[nth - 1];
        if (found) {
          done();
          resolve(found);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`${this.options.name} exited before logging "${text}" (#${nth}); stderr:\n${this.stderr.slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.options.name}: no "${text}" (#${nth}) within ${timeoutMs}ms; stderr:\n${this.stderr.slice(-4000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The n-th start record of this agent's Envoy (the fake writes it as it starts). */
  async startRecord(nth = 1, timeoutMs = 15_000): Promise<StartRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = readStarts(this.recordDir)[nth - 1];
      if (record) return record;
      if (Date.now() > deadline) throw new Error(`${this.options.name}: no Envoy start record #${nth} within ${timeoutMs}ms`);
      await sleep(10);
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** pino's isoTime `time` field of a log line, as epoch milliseconds. */
export function lineTime(line: LogLine): number {
  const ms = Date.parse(String(line.time));
  if (Number.isNaN(ms)) throw new Error(`log line without a time: ${JSON.stringify(line)}`);
  return ms;
}

/** The timestamp Envoy (the fake) put at the start of one of its own lines: `[YYYY-MM-DD HH:MM:SS.mmm][pid]...` (UTC). */
export function envoyLineTime(text: string): number | undefined {
  const stamp = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})\]/.exec(text);
  return stamp ? Date.parse(`${stamp[1]}T${stamp[2]}Z`) : undefined;
}

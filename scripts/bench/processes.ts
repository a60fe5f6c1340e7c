import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procStat } from '../../src/process/proc-stat.js';

/**
 * Every process and temp dir the bench makes, so that all of them go away however the bench ends
 * (done, failed, Ctrl-C). Agents run Envoy under setpriv's parent-death signal; Envoy pids seen in
 * start records are killed as well, in case setpriv is missing.
 */
const children = new Set<ChildProcess>();
const extraPids = new Set<number>();
const dirs = new Set<string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function trackPid(pid: number): void {
  extraPids.add(pid);
}

export function spawnTracked(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(file, args, options));
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Synchronous, so that it also works from process.on('exit'). */
export function cleanup(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  extraPids.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let installed = false;
export function cleanupOnExit(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}: cleaning up\n`);
      cleanup();
      process.exit(130);
    });
  }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, at: Date.now() });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
}

// ---------- /proc readings ----------

let clockTicks: number | undefined;
/** Clock ticks per second (USER_HZ) for /proc/<pid>/stat's times. */
export function clkTck(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** CPU time (user + system) the process itself used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const fields = procStat(pid);
  if (!fields) throw new Error(`no /proc/${pid}/stat`);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

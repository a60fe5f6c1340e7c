import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { procStat } from '../../src/process/proc-stat.js';
import { repoRoot } from '../../stand-ins/paths.js';

/** The CLI as shipped: package.json's `bin`, the esbuild bundle of dist/src/cli/main.js (scripts/bundle.ts). */
export const agentEntry = path.join(repoRoot, 'dist', 'bundle', 'kuma-dp.mjs');
export const standInBin = path.join(repoRoot, 'stand-ins', 'bin');

/** One JSON log line of the agent. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

export interface Agent {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Parsed JSON lines of stderr so far. */
  readonly lines: LogLine[];
  /** Raw stderr and stdout so far. */
  stderr(): string;
  stdout(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line (past or future) of that `event`, or that matches. */
  waitFor(match: string | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Environment for an agent under test: the fake Envoy first on PATH, fast CP retries, and the
 * readiness endpoint off so that parallel tests do not fight over port 9902.
 */
export function agentEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: `${standInBin}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    // Its own temp dir (where its private work dir goes) and runtime dir (where its pidfiles go):
    // tests reuse dataplane names, and agents of one dataplane would take each other for a leftover.
    TMPDIR: tempDir('kuma-dp-agent-'),
    XDG_RUNTIME_DIR: tempDir('kuma-dp-runtime-'),
    KUMA_CONTROL_PLANE_RETRY_BACKOFF: '100ms',
    KUMA_READINESS_PORT: '0',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export function startAgent(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Agent {
  // Run as an operator runs it: the bundle itself, with the node flags of its #! line.
  const child = spawn(agentEntry, args, {
    env: options.env ?? agentEnv(),
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  let stdout = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const text of complete) {
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // Not JSON: kept in stderr() for tests that check plain error lines.
      }
    }
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const find = (match: string | ((line: LogLine) => boolean)) =>
    lines.find(typeof match === 'string' ? (line) => line.event === match : match);
  return {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    waitFor: (match, timeoutMs = 10_000) =>
      new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const line = find(match);
          if (!line) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no log line matching ${String(match)} within ${timeoutMs}ms; stderr:\n${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => setImmediate(check));
        check();
      }),
  };
}

/** Runs the agent to its end (or kills it after timeoutMs) and returns what it said. */
export async function runAgent(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string; lines: LogLine[]; ms: number }> {
  const started = Date.now();
  const agent = startAgent(args, options);
  const timer = setTimeout(() => agent.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const result = await agent.exited;
  clearTimeout(timer);
  return { ...result, stderr: agent.stderr(), stdout: agent.stdout(), lines: agent.lines, ms: Date.now() - started };
}

/** A temp dir removed after the test file finishes. */
export function tempDir(prefix = 'kuma-dp-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The stand-in Envoy with environment of its own, for one dataplane of a fleet (whose agent's
 * environment all of its Envoys share): a wrapper that sets it and execs the stand-in.
 */
export function envoyWith(dir: string, name: string, env: Readonly<Record<string, string>>): string {
  const wrapper = path.join(dir, `envoy-${name}`);
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\n${assignments} exec ${path.join(standInBin, 'envoy')} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

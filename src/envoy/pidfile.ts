import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { processStartTime as startTime } from '../process/proc-stat.js';

/**
 * Remembers which agent runs which Envoy for a dataplane, so that a new agent can end an Envoy
 * that outlived its agent (where there is no parent-death signal), and refuse to start a second
 * agent for a dataplane that already runs. Process start times guard against recycled pids.
 */
export function pidfilePath(dir: string, mesh: string, name: string): string {
  return path.join(dir, `${mesh}.${name}.envoy.pid`);
}

interface Owner {
  readonly agentPid: number;
  readonly agentStartTime: string | null;
  readonly pid: number;
  readonly startTime: string | null;
}

/** The same process as recorded: alive, with the same start time. */
function stillRuns(pid: unknown, recordedStart: unknown): pid is number {
  return Number.isInteger(pid) && (pid as number) > 1 && typeof recordedStart === 'string' && startTime(pid as number) === recordedStart;
}

export function recordEnvoy(file: string, pid: number): void {
  const owner: Owner = { agentPid: process.pid, agentStartTime: startTime(process.pid) ?? null, pid, startTime: startTime(pid) ?? null };
  writeFileSync(file, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
}

export function clearPidfile(file: string): void {
  rmSync(file, { force: true });
}

/**
 * Kills the Envoy a dead agent of this dataplane left running; returns its pid if there was one.
 * Throws when the agent that owns the dataplane is still alive: two agents for one dataplane
 * would fight over its admin port and its identity at the control plane.
 */
export async function takeOverDataplane(file: string, dataplane: string): Promise<number | undefined> {
  let recorded: Partial<Owner>;
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
  } catch {
    return undefined;
  }
  if (recorded.agentPid !== process.pid && stillRuns(recorded.agentPid, recorded.agentStartTime)) {
    throw new UserError(`dataplane ${dataplane} already runs on this host under kuma-dp pid ${recorded.agentPid} (see ${file})`);
  }
  const pid = recorded.pid;
  if (!stillRuns(pid, recorded.startTime)) {
    clearPidfile(file);
    return undefined;
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && startTime(pid) !== undefined; i++) await sleep(20);
  clearPidfile(file);
  return pid;
}

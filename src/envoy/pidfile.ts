import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Remembers which Envoy this dataplane runs, so a restarted agent can end an Envoy that outlived
 * its predecessor (on systems without a parent-death signal, or after a crash of the machine's
 * init). The process start time guards against a recycled pid.
 */
export function pidfilePath(dir: string, mesh: string, name: string): string {
  return path.join(dir, `${mesh}.${name}.envoy.pid`);
}

function startTime(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function recordEnvoy(file: string, pid: number): void {
  writeFileSync(file, `${JSON.stringify({ pid, startTime: startTime(pid) ?? null })}\n`, { mode: 0o600 });
}

export function clearPidfile(file: string): void {
  rmSync(file, { force: true });
}

/** Kills the Envoy a previous agent of this dataplane left running; returns its pid if there was one. */
export async function killLeftoverEnvoy(file: string): Promise<number | undefined> {
  let recorded: { pid?: number; startTime?: string | null };
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as typeof recorded;
  } catch {
    return undefined;
  }
  const pid = recorded.pid;
  if (!Number.isInteger(pid) || pid! <= 1 || !recorded.startTime || startTime(pid!) !== recorded.startTime) {
    clearPidfile(file);
    return undefined;
  }
  process.kill(pid!, 'SIGKILL');
  for (let i = 0; i < 50 && startTime(pid!) !== undefined; i++) await sleep(20);
  clearPidfile(file);
  return pid;
}

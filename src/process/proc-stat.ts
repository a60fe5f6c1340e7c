import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat from field 3 (state) on, or undefined when the process is gone.
 * The command name (field 2) may hold spaces and parentheses, so the split starts after its last ')'.
 * Index i here is field i + 3 of proc(5): state 0, utime 11, stime 12, starttime 19.
 */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** When the process started (clock ticks since boot): with the pid, it names one process for good. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

import { constants } from 'node:os';

/** How a process ended: its exit code, or the signal that ended it, and the last lines of its stderr. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderrTail: readonly string[];
}

/** The status a shell reports for it: the code, or 128 + N for death by signal N. */
export function exitStatus(exit: ProcessExit): number {
  return exit.code ?? 128 + (constants.signals[exit.signal as NodeJS.Signals] ?? 0);
}

export function describeExit(exit: Pick<ProcessExit, 'code' | 'signal'>): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

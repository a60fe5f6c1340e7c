import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { procStat, processStartTime as startTime } from '../process/proc-stat.js';
import { othersCanWrite } from '../system/private-dir.js';
import { writePrivateFile } from '../system/private-file.js';
import { readOpenedSync } from '../system/regular-file.js';

/**
 * Remembers which agent runs which Envoy for a dataplane, so that a new agent can end an Envoy
 * that outlived its agent (where there is no parent-death signal), and refuse to start a second
 * agent for a dataplane that already runs. Pidfiles live in a directory only the agent's user can
 * write (ensurePrivateDir), and a pid in one is acted on only when the process is provably the
 * Envoy recorded: same start time, same executable, same command line.
 */
export function pidfilePath(dir: string, mesh: string, name: string): string {
  const file = path.join(dir, `${mesh}.${name}.envoy.pid`);
  // Names follow kuma-cp's rules, which allow no '/'; this keeps any name from leading elsewhere.
  if (path.dirname(file) !== dir) throw new UserError(`the names ${JSON.stringify(mesh)} and ${JSON.stringify(name)} make no file name in ${dir}`);
  return file;
}

interface Owner {
  readonly agentPid: number;
  readonly agentStartTime: string | null;
  readonly pid: number;
  readonly startTime: string | null;
  /** What the kernel said of the Envoy once it was live: before that, the pid may still be setpriv's. */
  readonly exe?: string;
  readonly cmdline?: readonly string[];
}

const MAX_PIDFILE_BYTES = 64 * 1024;

/** The same process as recorded: alive, with the same start time. */
function stillRuns(pid: unknown, recordedStart: unknown): pid is number {
  return Number.isInteger(pid) && (pid as number) > 1 && typeof recordedStart === 'string' && startTime(pid as number) === recordedStart;
}

/** The executable and command line of a process, or undefined when they cannot be read. */
function identity(pid: number): { exe: string; cmdline: string[] } | undefined {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.at(-1) === '') cmdline.pop();
    return { exe, cmdline };
  } catch {
    return undefined;
  }
}

/**
 * Records the Envoy a dataplane runs. Call it at the spawn, and again with live once Envoy
 * answers: its executable and command line are recorded then, when they are surely Envoy's own.
 */
export function recordEnvoy(file: string, pid: number, live: boolean): void {
  const seen = live ? identity(pid) : undefined;
  const owner: Owner = { agentPid: process.pid, agentStartTime: startTime(process.pid) ?? null, pid, startTime: startTime(pid) ?? null, ...seen };
  writePrivateFile(file, `${JSON.stringify(owner)}\n`);
}

export function clearPidfile(file: string): void {
  rmSync(file, { force: true });
}

/** The record, if there is one; a pidfile that may not be ours to trust (a symlink, someone else's) is refused. */
function readOwner(file: string): Partial<Owner> | undefined {
  const refuse = (why: string) => new UserError(`refusing the pidfile ${file}: ${why}; kuma-dp trusts only its own. Remove it if it is stale`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw code === 'ELOOP' ? refuse('it is a symbolic link') : refuse(`it cannot be read (${code})`);
  }
  try {
    const stats = fstatSync(fd);
    const uid = process.getuid?.() ?? 0;
    if (!stats.isFile()) throw refuse('it is not a regular file');
    if (stats.uid !== uid) throw refuse(`it belongs to uid ${stats.uid}, not to kuma-dp's uid ${uid}`);
    if (othersCanWrite(stats)) throw refuse('other users can write to it');
    const parsed: unknown = JSON.parse(readOpenedSync(fd, MAX_PIDFILE_BYTES));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<Owner>) : {};
  } catch (error) {
    if (error instanceof UserError) throw error;
    // Unparsable or oversized: not a record this agent wrote (it writes them whole, atomically).
    return {};
  } finally {
    closeSync(fd);
  }
}

function sameCommand(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((arg, i) => arg === b[i]);
}

export interface TakeOver {
  /** The leftover Envoy killed. */
  readonly killed?: number;
  /** A live process under the recorded pid that could not be proven to be that Envoy: left alone. */
  readonly unproven?: number;
}

/**
 * Kills the Envoy a dead agent of this dataplane left running, and its process group, when the
 * process is provably that Envoy. Throws when the agent that owns the dataplane is still alive:
 * two agents for one dataplane would fight over its admin port and its identity at the control plane.
 */
export async function takeOverDataplane(file: string, dataplane: string): Promise<TakeOver> {
  const recorded = readOwner(file);
  if (!recorded) return {};
  if (recorded.agentPid !== process.pid && stillRuns(recorded.agentPid, recorded.agentStartTime)) {
    throw new UserError(`dataplane ${dataplane} already runs on this host under kuma-dp pid ${recorded.agentPid} (see ${file})`);
  }
  const pid = recorded.pid;
  if (!stillRuns(pid, recorded.startTime)) {
    clearPidfile(file);
    return {};
  }
  const now = identity(pid);
  if (!now || recorded.exe !== now.exe || !sameCommand(recorded.cmdline, now.cmdline)) {
    clearPidfile(file);
    return { unproven: pid };
  }
  // Envoy leads its own process group (process/child.ts): whatever it started goes with it.
  const leadsGroup = procStat(pid)?.[2] === String(pid);
  process.kill(leadsGroup ? -pid : pid, 'SIGKILL');
  for (let i = 0; i < 50 && startTime(pid) !== undefined; i++) await sleep(20);
  clearPidfile(file);
  return { killed: pid };
}

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ProcessExit } from './exit.js';

export interface ChildProcess {
  readonly pid: number;
  /** Settles once the process is gone, with the last lines it wrote to stderr (when relayed). */
  readonly exited: Promise<ProcessExit>;
  /** Signals the child's whole process group (a no-op once the child is gone). */
  kill(signal: NodeJS.Signals): void;
}

export interface SpawnOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** util-linux setpriv, to give the child a parent-death signal; undefined where there is none. */
  readonly setpriv?: string;
  /** Each line the child writes, as it writes it; without it the child shares the agent's stdio. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly stderrTailLines?: number;
}

/** Longest line relayed whole; the rest of a longer one is dropped, so output is never buffered without bound. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * How long the pipes may stay open once the child has exited. Whatever still holds them then is a
 * process the child left behind in its group: it is killed, and the exit reported regardless.
 */
const PIPE_GRACE_MS = 250;

/** The program could not be started at all (missing, not executable, no descriptors left...). */
export class SpawnError extends Error {
  constructor(binary: string, reason: string) {
    super(`could not start ${binary}: ${reason}`);
    this.name = 'SpawnError';
  }
}

// Groups of children still running. The supervisor stops them in order; this is the last resort
// when the agent exits some other way.
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const group of liveGroups) signalGroup(group, 'SIGKILL');
});

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

/**
 * Splits a stream into lines, holding at most maxBytes of one line: a longer line is relayed cut,
 * with a mark saying so, and its rest skipped up to the next newline. Cuts fall between characters.
 */
function relayLines(stream: Readable, maxBytes: number, emit: (line: string) => void): void {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  const take = (): string => {
    const text = Buffer.concat(parts, size).toString('utf8');
    parts = [];
    size = 0;
    return text;
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    while (start <= chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (!skipping && end > start) {
        if (size + end - start > maxBytes) {
          let room = maxBytes - size;
          // Back off to the start of a UTF-8 character: continuation bytes are 10xxxxxx.
          while (room > 0 && ((chunk[start + room]! & 0xc0) === 0x80)) room--;
          parts.push(chunk.subarray(start, start + room));
          size += room;
          emit(`${take()}… [line cut at ${maxBytes} bytes]`);
          skipping = true;
        } else {
          parts.push(chunk.subarray(start, end));
          size += end - start;
        }
      }
      if (newline < 0) break;
      if (!skipping) emit(take().replace(/\r$/, ''));
      skipping = false;
      start = newline + 1;
    }
  });
  stream.on('end', () => {
    if (!skipping && size > 0) emit(take().replace(/\r$/, ''));
  });
}

/**
 * Starts a child the agent supervises (Envoy, the app, `envoy --version`) as the leader of its own
 * process group, so that a signal reaches whatever it runs (a wrapper script that does not exec
 * included), and a terminal's Ctrl-C reaches only the agent, which then stops things in order.
 * With setpriv, the kernel SIGKILLs the child when the agent dies, however it dies (SIGKILL and the
 * OOM killer included): setpriv sets PR_SET_PDEATHSIG and then execs the program, so the pid we
 * get is its own.
 *
 * The exit is the process's own, not the end of its pipes: a process it leaves holding them
 * neither hides the exit nor outlives it. Rejects with a SpawnError when nothing could be started.
 */
export function spawnChild(options: SpawnOptions): Promise<ChildProcess> {
  const [file, args] = options.setpriv
    ? [options.setpriv, ['--pdeathsig', 'KILL', '--', options.binary, ...options.args]]
    : [options.binary, [...options.args]];
  const onLine = options.onLine;
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        env: options.env,
        stdio: ['ignore', onLine ? 'pipe' : 'inherit', onLine ? 'pipe' : 'inherit'],
        detached: true,
      });
    } catch (error) {
      reject(new SpawnError(options.binary, (error as NodeJS.ErrnoException).code ?? (error as Error).message));
      return;
    }
    // Before 'spawn' an error means nothing started (ENOENT, EACCES, EMFILE...); after it, a
    // failed kill, which signalGroup never asks Node for.
    child.once('error', (error: NodeJS.ErrnoException) => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      reject(new SpawnError(options.binary, error.code ?? error.message));
    });
    child.once('spawn', () => {
      const pid = child.pid!;
      liveGroups.add(pid);
      const tail: string[] = [];
      const limit = options.stderrTailLines ?? 20;
      if (onLine) {
        relayLines(child.stdout!, MAX_LINE_BYTES, (line) => onLine(line, 'stdout'));
        relayLines(child.stderr!, MAX_LINE_BYTES, (line) => {
          tail.push(line);
          if (tail.length > limit) tail.shift();
          onLine(line, 'stderr');
        });
      }
      let running = true;
      const exited = new Promise<ProcessExit>((settle) => {
        child.once('exit', (code, signal) => {
          running = false;
          const done = () => {
            clearTimeout(grace);
            liveGroups.delete(pid);
            settle({ code: signal ? null : code, signal, stderrTail: [...tail] });
          };
          // 'close' follows once the pipes are drained and shut; until then the last lines may be in flight.
          const grace = setTimeout(() => {
            signalGroup(pid, 'SIGKILL');
            child.stdout?.destroy();
            child.stderr?.destroy();
            done();
          }, PIPE_GRACE_MS);
          child.once('close', done);
        });
      });
      resolve({
        pid,
        exited,
        kill: (signal) => {
          if (running) signalGroup(pid, signal);
        },
      });
    });
  });
}

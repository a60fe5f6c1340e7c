import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { ProcessExit } from './exit.js';

export interface ChildProcess {
  readonly pid: number;
  /** Settles once the process is gone, with the last lines it wrote to stderr (when relayed). */
  readonly exited: Promise<ProcessExit>;
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

/**
 * Starts a child the agent supervises (Envoy, or the app in app mode). With setpriv, the kernel
 * SIGKILLs it when the agent dies, however it dies (SIGKILL and the OOM killer included):
 * setpriv sets PR_SET_PDEATHSIG and then execs the program, so the pid we get is its own.
 */
export async function spawnChild(options: SpawnOptions): Promise<ChildProcess> {
  const [file, args] = options.setpriv
    ? [options.setpriv, ['--pdeathsig', 'KILL', '--', options.binary, ...options.args]]
    : [options.binary, [...options.args]];
  const child = execa(file, args, {
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: options.onLine ? 'pipe' : 'inherit',
    stderr: options.onLine ? 'pipe' : 'inherit',
    buffer: false,
    reject: false,
    // The child gets its own process group, so a terminal's Ctrl-C or a group kill reaches only
    // the agent, which then stops things in order instead of everything at once. Only with
    // setpriv: without a parent-death signal a detached child would outlive a killed agent.
    detached: options.setpriv !== undefined,
    // Where there is no setpriv, execa kills the child when Node exits normally.
    cleanup: true,
    // The supervisor decides when to escalate to SIGKILL (--envoy-stop-timeout).
    forceKillAfterDelay: false,
  });
  if (child.pid === undefined) {
    // execa reports spawn failures (ENOENT, EACCES) through the promise.
    const result = await child;
    throw new Error(`could not start ${options.binary}: ${result.shortMessage ?? 'the process did not spawn'}`);
  }
  const tail: string[] = [];
  const limit = options.stderrTailLines ?? 20;
  const onLine = options.onLine;
  const relay = (stream: Readable | null, name: 'stdout' | 'stderr') => {
    if (!stream || !onLine) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (name === 'stderr') {
        tail.push(line);
        if (tail.length > limit) tail.shift();
      }
      onLine(line, name);
    });
  };
  relay(child.stdout, 'stdout');
  relay(child.stderr, 'stderr');
  const exited = child.then((result): ProcessExit => ({
    code: result.signal ? null : (result.exitCode ?? null),
    signal: result.signal ?? null,
    stderrTail: [...tail],
  }));
  return {
    pid: child.pid,
    exited,
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { EnvoyExit } from '../supervisor/machine.js';

export interface EnvoyProcess {
  readonly pid: number;
  /** Settles once Envoy is gone, with the last lines it wrote to stderr. */
  readonly exited: Promise<EnvoyExit & { readonly stderrTail: readonly string[] }>;
  kill(signal: NodeJS.Signals): void;
}

export interface SpawnOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** util-linux setpriv, to give Envoy a parent-death signal; undefined where there is none. */
  readonly setpriv?: string;
  /** Each line Envoy writes, as it writes it. */
  readonly onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly stderrTailLines?: number;
}

/**
 * Starts Envoy. With setpriv, the kernel SIGKILLs Envoy when the agent dies, however it dies
 * (SIGKILL and the OOM killer included): setpriv sets PR_SET_PDEATHSIG and then execs Envoy,
 * so the pid we get is Envoy's own.
 */
export async function spawnEnvoy(options: SpawnOptions): Promise<EnvoyProcess> {
  const [file, args] = options.setpriv
    ? [options.setpriv, ['--pdeathsig', 'KILL', '--', options.binary, ...options.args]]
    : [options.binary, [...options.args]];
  const child = execa(file, args, {
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    // Envoy gets its own process group, so a terminal's Ctrl-C or a group kill reaches only the
    // agent, which then drains Envoy instead of Envoy stopping at once. Only with setpriv: without
    // a parent-death signal a detached Envoy would outlive a killed agent more easily.
    detached: options.setpriv !== undefined,
    // Where there is no setpriv, execa kills the child when Node exits normally.
    cleanup: true,
    // The supervisor decides when to escalate to SIGKILL (--envoy-stop-timeout).
    forceKillAfterDelay: false,
  });
  if (child.pid === undefined) {
    // execa reports spawn failures (ENOENT, EACCES) through the promise.
    const result = await child;
    throw new Error(`could not start Envoy: ${result.shortMessage ?? 'the process did not spawn'}`);
  }
  const tail: string[] = [];
  const limit = options.stderrTailLines ?? 20;
  const relay = (stream: Readable | null, name: 'stdout' | 'stderr') => {
    if (!stream) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (name === 'stderr') {
        tail.push(line);
        if (tail.length > limit) tail.shift();
      }
      options.onLine(line, name);
    });
  };
  relay(child.stdout, 'stdout');
  relay(child.stderr, 'stderr');
  const exited = child.then((result) => ({
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

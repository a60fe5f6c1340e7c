// What the runtime test files share: the session's podman, containers that are removed after the
// file, the processes inside one, and directories the fake Envoy can record into.
import { chownSync, chmodSync } from 'node:fs';
import { after } from 'node:test';
import { tempDir } from '../test/helpers/agent.js';
import { podman, podmanOk, readSession, type CommandResult } from './engine.js';

export const session = readSession();

export const run = (args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> => podman(session.env, args, options);
export const runOk = (args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> => podmanOk(session.env, args, options);

let counter = 0;

/** `podman run -d` under a fresh name; the container is removed after the test file. */
export async function startContainer(args: readonly string[], image: string, command: readonly string[] = []): Promise<string> {
  const name = `kuma-dp-test-runtime-${process.pid}-${++counter}`;
  after(() => run(['rm', '--force', '--time', '0', name]));
  await runOk(['run', '--detach', '--name', name, ...args, image, ...command]);
  return name;
}

export interface ContainerProcess {
  /** In the container's PID namespace. */
  pid: number;
  ppid: number;
  /** On the host. */
  hostPid: number;
  /** The uid, as the host sees it. */
  uid: number;
  user: string;
  args: string;
}

/** The processes running in a container (`podman top`, which needs nothing inside it). */
export async function processes(container: string): Promise<ContainerProcess[]> {
  const out = await runOk(['top', container, 'pid', 'ppid', 'hpid', 'huser', 'user', 'args']);
  return out
    .split('\n')
    .slice(1)
    .map((line) => line.match(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*?)\s*$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), hostPid: Number(m[3]), uid: Number(m[4]), user: m[5]!, args: m[6]! }));
}

/** An exit code podman reports for a container that has stopped (or -1 if it is still running). */
export async function exitCode(container: string): Promise<number> {
  const state = JSON.parse(await runOk(['inspect', '--format', '{{json .State}}', container])) as { Running: boolean; ExitCode: number };
  return state.Running ? -1 : state.ExitCode;
}

/** A host directory the fake Envoy, running as uid, can write its records to. */
export function recordDir(uid: number): string {
  const dir = tempDir('kuma-dp-test-runtime-records-');
  chownSync(dir, uid, uid);
  chmodSync(dir, 0o755);
  return dir;
}

// The container engine of the runtime suite: podman, with its configuration and storage in the
// suite's own directory (through CONTAINERS_CONF and CONTAINERS_STORAGE_CONF), so that nothing in
// /etc/containers or the host's image store is read or changed.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, bounded in time; never rejects for a non-zero exit. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The engine's settings, as the set-up wrote them and the test files read them. */
export interface Session {
  /** Environment that points podman at the private configuration and storage. */
  readonly env: Record<string, string>;
  readonly images: { readonly kumaDp: string; readonly systemd: string };
  /** A directory of the suite's own, removed with it. */
  readonly workDir: string;
}

/** Where run.ts tells the test files about the session. */
export const SESSION_VARIABLE = 'KUMA_DP_RUNTIME_SESSION';

export function readSession(): Session {
  const file = process.env[SESSION_VARIABLE];
  if (!file) throw new Error(`${SESSION_VARIABLE} is not set: run these tests with \`npm run test:runtime\`, which builds the images first`);
  return JSON.parse(readFileSync(file, 'utf8')) as Session;
}

export function writeSession(session: Session): string {
  const file = path.join(session.workDir, 'session.json');
  writeFileSync(file, JSON.stringify(session, null, 2));
  return file;
}

/** This process's hard limit of a resource, from /proc/self/limits ("unlimited" as Infinity). */
function hardLimit(name: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const value = line?.slice(name.length).trim().split(/\s+/)[1];
  return value === undefined || value === 'unlimited' ? Infinity : Number(value);
}

/**
 * Writes containers.conf and storage.conf under `dir` and returns the environment that selects
 * them. On these hosts Debian's crun refuses cgroup v1/hybrid (runc works), there is no systemd
 * to manage cgroups or take events, and no CAP_SYS_RESOURCE: podman's default ulimits
 * (nofile=1048576) would fail with EPERM, so the containers get the host's hard limits. conmon
 * caps its own process limit at pid_max, so nproc stays below that too.
 */
export function configureEngine(dir: string): Record<string, string> {
  const storage = path.join(dir, 'storage');
  const engine = path.join(dir, 'engine');
  for (const sub of [storage, engine, path.join(dir, 'run')]) mkdirSync(sub, { recursive: true });
  const nofile = Math.min(hardLimit('Max open files'), 1_048_576);
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const nproc = Math.min(hardLimit('Max processes'), pidMax);
  const containersConf = path.join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    `[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${path.join(engine, 'events.log')}"
tmp_dir = "${path.join(engine, 'tmp')}"
volume_path = "${path.join(storage, 'volumes')}"

[network]
network_config_dir = "${path.join(engine, 'networks')}"
`,
  );
  const storageConf = path.join(dir, 'storage.conf');
  writeFileSync(
    storageConf,
    `[storage]
driver = "overlay"
graphroot = "${storage}"
runroot = "${path.join(dir, 'run')}"
`,
  );
  return { CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
}

/** podman with the session's configuration. */
export function podman(engineEnv: Record<string, string>, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return runCommand('podman', args, { env: { ...process.env, ...engineEnv }, ...options });
}

/** podman that must succeed: its stdout, or an error with what it said. */
export async function podmanOk(engineEnv: Record<string, string>, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await podman(engineEnv, args, options);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

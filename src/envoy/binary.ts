import path from 'node:path';
import { UserError } from '../errors.js';
import { spawnChild } from '../process/child.js';
import { isExecutableFile, resolveCommand } from '../process/lookup.js';

export interface EnvoyBuild {
  readonly path: string;
  /** e.g. 1.34.1 or 1.35.0-dev */
  readonly version: string;
  /** The whole build string: <sha>/<version>/<Clean|Modified>/<RELEASE|DEBUG>/<TLS lib> */
  readonly build: string;
  readonly compatible: boolean;
}

/**
 * Finds Envoy as Go kuma-dp does: the configured path (or the name in PATH), then the current
 * directory, then the directory kuma-dp itself lives in.
 */
export function lookupBinary(configured: string, options: { pathEnv: string; cwd: string; selfDir: string }): string {
  const name = path.basename(configured);
  const found =
    resolveCommand(configured, options.pathEnv, options.cwd) ??
    [path.join(options.cwd, name), path.join(options.selfDir, name)].find(isExecutableFile);
  if (!found) {
    throw new UserError(
      `invalid --binary-path "${configured}": no executable Envoy found (looked in ${
        configured.includes('/') ? configured : 'PATH'
      }, the current directory and next to kuma-dp)`,
    );
  }
  return found;
}

// Envoy prints `envoy  version: <build>`; Kuma's own Envoy mocks print `version: <build>`, which
// Go kuma-dp accepts too.
const VERSION_LINE = /^(?:envoy\s+)?version:\s+(\S+)\s*$/m;
const SEMVER = /^\d+\.\d+\.\d+(?:-[\w.-]+)?$/;

/** Reads the five-part build string of `envoy --version`. */
export function parseVersionOutput(stdout: string): { version: string; build: string } | undefined {
  const build = VERSION_LINE.exec(stdout)?.[1];
  const parts = build?.split('/');
  if (!build || parts?.length !== 5 || !/^[0-9a-f]{40}$/.test(parts[0]!) || !SEMVER.test(parts[1]!)) {
    return undefined;
  }
  return { version: parts[1]!, build };
}

/** Envoy releases this agent's argv and admin calls are known to work with. */
export function isCompatible(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major === 1 && minor >= 26;
}

/** How long `envoy --version` may take before it, and whatever it started, is killed. */
const VERSION_TIMEOUT_MS = 10_000;
const MAX_VERSION_LINES = 50;

/**
 * Runs `envoy --version` in its own process group, with node:child_process rather than execa so
 * that it can start before the rest of the agent is loaded (see cli/run.ts). A probe that outlives
 * the timeout is SIGKILLed with its group: one that ignores SIGTERM, or leaves a child holding its
 * pipes, must not hang the start.
 */
async function versionOutput(file: string, timeoutMs: number): Promise<{ readonly ok: boolean; readonly stdout: string; readonly said: string }> {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  let child;
  try {
    child = await spawnChild({
      binary: file,
      args: ['--version'],
      env: process.env,
      onLine: (line, stream) => {
        if (lines[stream].length < MAX_VERSION_LINES) lines[stream].push(line);
      },
    });
  } catch (error) {
    return { ok: false, stdout: '', said: (error as Error).message };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  const stdout = lines.stdout.join('\n');
  if (timedOut) return { ok: false, stdout, said: `no answer within ${timeoutMs / 1000}s; killed it` };
  return { ok: exit.code === 0, stdout, said: stdout || lines.stderr.join('\n') || `exit ${exit.signal ?? exit.code}` };
}

export async function inspectBinary(file: string, timeoutMs = VERSION_TIMEOUT_MS): Promise<EnvoyBuild> {
  const { ok, stdout, said } = await versionOutput(file, timeoutMs);
  const parsed = ok ? parseVersionOutput(stdout) : undefined;
  if (!parsed) {
    const first = said.split('\n').find((l) => l.trim()) ?? '';
    throw new UserError(`invalid --binary-path "${file}": \`--version\` did not print an Envoy version (got "${first.trim()}")`);
  }
  return { path: file, ...parsed, compatible: isCompatible(parsed.version) };
}

import { execFile } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../errors.js';
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

const VERSION_LINE = /^envoy\s+version:\s+(\S+)\s*$/m;
const SEMVER = /^\d+\.\d+\.\d+(?:-[\w.]+)?$/;

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

/**
 * Runs `envoy --version`. With node:child_process rather than execa, which supervises the
 * processes the agent keeps: this one-shot probe needs nothing from it, and so it can start before
 * execa and the rest of the agent are loaded (see cli/run.ts).
 */
function versionOutput(file: string): Promise<{ readonly ok: boolean; readonly stdout: string; readonly said: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, ['--version'], { timeout: 10_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ ok: error === null, stdout, said: stdout || stderr || (error?.message ?? '') });
    });
    child.stdin?.end();
  });
}

export async function inspectBinary(file: string): Promise<EnvoyBuild> {
  const { ok, stdout, said } = await versionOutput(file);
  const parsed = ok ? parseVersionOutput(stdout) : undefined;
  if (!parsed) {
    const first = said.split('\n').find((l) => l.trim()) ?? '';
    throw new UserError(`invalid --binary-path "${file}": \`--version\` did not print an Envoy version (got "${first.trim()}")`);
  }
  return { path: file, ...parsed, compatible: isCompatible(parsed.version) };
}

import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { RUN_SETTINGS } from '../config/settings.js';
import { UserError } from '../errors.js';

/** A dataplane file is a few hundred bytes; anything near this is not one. */
const MAX_FILE_BYTES = 1024 * 1024;
const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Settings that name a file: relative paths in a dataplane file are relative to its directory. */
const PATH_FLAGS = ['dataplane-file', 'dataplane-token-file', 'ca-cert-file', 'config-dir'];
/** The process-wide settings: one agent, one value. */
const AGENT_FLAGS = new Set(['log-level', 'dataplanes-dir']);

/** One dataplane of a fleet as its file describes it: `kuma-dp run` flags, and the app to start. */
export interface DataplaneFile {
  readonly file: string;
  /** Hash of the content: a changed file restarts its dataplane, an unchanged one is left alone. */
  readonly hash: string;
  /** The flags, as `kuma-dp run` would get them (`--` holds the app command). */
  readonly flags: Readonly<Record<string, unknown>>;
}

/** The dataplane files of a directory: regular `*.yaml`, `*.yml` and `*.json` files, dot files skipped. */
export function listDataplaneFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && EXTENSIONS.has(path.extname(entry.name)))
    .map((entry) => path.join(dir, entry.name))
    .sort();
}

/**
 * Reads one dataplane file as the agent (often root) may: no symlinks, nothing that another user
 * can write, nothing larger than a dataplane file can be.
 */
function readTrusted(file: string): string {
  const link = lstatSync(file);
  if (link.isSymbolicLink()) throw new UserError(`${file}: a symlink; kuma-dp reads only regular files in --dataplanes-dir`);
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UserError(`${file}: not a regular file`);
    if (stat.mode & 0o022) throw new UserError(`${file}: writable by other users (mode ${(stat.mode & 0o777).toString(8)}); make it writable by its owner only`);
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) throw new UserError(`${file}: owned by uid ${stat.uid}, neither this user nor root`);
    if (stat.size > MAX_FILE_BYTES) throw new UserError(`${file}: ${stat.size} bytes; a dataplane file is at most ${MAX_FILE_BYTES}`);
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_FILE_BYTES) + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_FILE_BYTES) throw new UserError(`${file}: larger than ${MAX_FILE_BYTES} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Every long name of a `kuma-dp run` flag (aliases too), to the flag's own name. */
const FLAG_NAMES: ReadonlyMap<string, string> = new Map(
  Object.values(RUN_SETTINGS).flatMap((spec) =>
    'flag' in spec && spec.flag ? [spec.flag, ...[spec.alias ?? []].flat().filter((a) => a.length > 1)].map((name) => [name, spec.flag!] as const) : [],
  ),
);

/**
 * Reads a dataplane file: either a mapping of `kuma-dp run` flags (`name`, `mesh`,
 * `dataplane-file`, `dataplane-token-file`, `admin-port`, `readiness-port`, ..., and `app: [command,
 * args...]`), or a Dataplane template itself (`type: Dataplane`).
 */
export function readDataplaneFile(file: string): DataplaneFile {
  const text = readTrusted(file);
  const hash = createHash('sha256').update(text).digest('hex');
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new UserError(`${file}: not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UserError(`${file}: expected a mapping of kuma-dp run flags, or a Dataplane resource`);
  }
  const fields = parsed as Record<string, unknown>;
  if (fields.type === 'Dataplane') return { file, hash, flags: { dataplane: text } };
  const dir = path.dirname(file);
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'app') {
      if (!Array.isArray(value) || value.length === 0 || !value.every((part) => typeof part === 'string' || typeof part === 'number')) {
        throw new UserError(`${file}: app must be a list: [command, args...]`);
      }
      const [command, ...args] = value.map(String);
      flags['--'] = [command!.includes('/') ? path.resolve(dir, command!) : command!, ...args];
      continue;
    }
    const key = FLAG_NAMES.get(name);
    if (key === undefined) throw new UserError(`${file}: unknown setting "${name}" (the names are kuma-dp run's flags, without dashes)`);
    if (AGENT_FLAGS.has(key)) throw new UserError(`${file}: ${name} is set for the whole agent, on its command line`);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      // A template may be written inline as a mapping rather than as text.
      if (key === 'dataplane') {
        flags[key] = JSON.stringify(value);
        continue;
      }
      throw new UserError(`${file}: ${key} must be a value, not a mapping`);
    }
    const values = Array.isArray(value) ? value.map(String) : String(value);
    flags[key] = PATH_FLAGS.includes(key) && typeof values === 'string' ? path.resolve(dir, values) : values;
  }
  if (flags.name === undefined && flags.dataplane === undefined && flags['dataplane-file'] === undefined) {
    throw new UserError(`${file}: names no dataplane: give name, dataplane or dataplane-file`);
  }
  return { file, hash, flags };
}

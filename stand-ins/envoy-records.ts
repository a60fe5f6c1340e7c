import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What fake-envoy writes to FAKE_ENVOY_RECORD_DIR/start-<n>-<pid>.json when it starts. */
export interface StartRecord {
  n: number;
  pid: number;
  ppid: number;
  time: string;
  argv: string[];
  configPath: string | null;
  /** The config file's raw text, or null when it could not be read. */
  config: string | null;
  env: Record<string, string | undefined>;
}

export interface AdminLogEntry {
  pid: number;
  method: string;
  /** Path with the query string. */
  path: string;
  time: string;
}

export interface SignalLogEntry {
  pid: number;
  signal: string;
  time: string;
}

const startFile = /^start-(\d+)-(\d+)\.json$/;

/** Start records in start order. */
export function readStarts(dir: string): StartRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => startFile.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as StartRecord);
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export function readAdminLog(dir: string): AdminLogEntry[] {
  return readJsonLines<AdminLogEntry>(join(dir, 'admin.log'));
}

export function readSignalLog(dir: string): SignalLogEntry[] {
  return readJsonLines<SignalLogEntry>(join(dir, 'signals.log'));
}

export interface DynconfLogEntry {
  pid: number;
  path: string;
  ifNoneMatch: string | null;
  status: number;
  time: string;
}

/** Requests on the dynamic configuration socket, in order. */
export function readDynconfLog(dir: string): DynconfLogEntry[] {
  return readJsonLines<DynconfLogEntry>(join(dir, 'dynconf.log'));
}

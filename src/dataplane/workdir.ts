import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processStartTime } from '../process/proc-stat.js';
import { othersCanWrite } from '../system/private-dir.js';

/**
 * The dataplane's work dir: the bootstrap (a secret: 0600) and the sockets kuma-cp names from the
 * `workdir` of the bootstrap request. 0711, as Go kuma-dp makes it: Envoy and other users can reach
 * a socket whose name they know, but nobody else can list what is there.
 */
export interface WorkDir {
  readonly path: string;
  readonly bootstrapPath: string;
  /** Set when other users can write to a configured work dir: they could swap the bootstrap Envoy reads. */
  readonly othersCanWrite: boolean;
  /** Private dirs of earlier agents that died without removing them (SIGKILL, OOM), removed now. */
  readonly staleRemoved: readonly string[];
  /** Removes what the agent made: the whole dir when the agent made it, else only the bootstrap. */
  remove(): void;
}

const WORK_DIR_MODE = 0o711;
// A private work dir is named after its agent's pid, so that a later agent can tell when it is stale.
const PRIVATE_NAME = /^kuma-dp-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the private work dirs in tmpdir that an agent left behind when it was killed: only real
 * directories of this user, named as this module names them, whose agent no longer runs.
 */
function removeStaleWorkDirs(tmpdir: string): string[] {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(tmpdir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const pid = Number(PRIVATE_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || processStartTime(pid) !== undefined) return [];
    const dir = path.join(tmpdir, name);
    try {
      // lstat: a symlink planted under such a name is not a directory, and is left alone.
      const stats = lstatSync(dir);
      if (!stats.isDirectory() || stats.uid !== uid) return [];
      rmSync(dir, { recursive: true, force: true });
      return [dir];
    } catch {
      return [];
    }
  });
}

export function openWorkDir(configured: string | undefined): WorkDir {
  const staleRemoved = configured ? [] : removeStaleWorkDirs(os.tmpdir());
  const dir = configured ?? mkdtempSync(path.join(os.tmpdir(), `kuma-dp-${process.pid}-`));
  if (configured) mkdirSync(dir, { recursive: true, mode: WORK_DIR_MODE });
  // mkdtemp makes it 0700; other users need the x bit to reach the sockets.
  else chmodSync(dir, WORK_DIR_MODE);
  const bootstrapPath = path.join(dir, 'bootstrap.yaml');
  return {
    path: dir,
    bootstrapPath,
    othersCanWrite: configured !== undefined && othersCanWrite(statSync(dir)),
    staleRemoved,
    remove: () => {
      if (configured) rmSync(bootstrapPath, { force: true });
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

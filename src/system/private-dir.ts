import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/** Other users (group or world) may create, rename and delete entries in it. */
export function othersCanWrite(stats: Stats): boolean {
  return (stats.mode & 0o022) !== 0;
}

/** Why a directory is not one only this user controls, or undefined when it is. */
function flaw(dir: string, uid: number): string | undefined {
  const stats = lstatSync(dir);
  if (stats.isSymbolicLink()) return 'it is a symbolic link';
  if (!stats.isDirectory()) return 'it is not a directory';
  if (stats.uid !== uid) return `it belongs to uid ${stats.uid}, not to kuma-dp's uid ${uid}`;
  if (othersCanWrite(stats)) return 'other users can write to it';
  // A parent others can write to, without the sticky bit (/tmp has it), lets them swap the directory itself.
  const parent = statSync(path.dirname(dir));
  if ((parent.mode & 0o002) !== 0 && (parent.mode & 0o1000) === 0) return `anyone can replace it: ${path.dirname(dir)} is world-writable without the sticky bit`;
  return undefined;
}

/**
 * Makes (0700) or checks a directory that only this user may write to: the agent keeps there what
 * it later acts on (pidfiles), so nothing in it may come from someone else.
 */
export function ensurePrivateDir(dir: string, what: string): void {
  const uid = process.getuid?.() ?? 0;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new UserError(`cannot create the ${what} ${dir} (${code ?? (error as Error).message})`);
  }
  const problem = flaw(dir, uid);
  if (problem) throw new UserError(`refusing the ${what} ${dir}: ${problem}. kuma-dp keeps it only where no other user can write`);
}

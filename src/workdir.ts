import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';

/** The directory holding the bootstrap (a secret: it carries the dataplane token). */
export interface WorkDir {
  readonly path: string;
  readonly bootstrapPath: string;
  /** Removes what the agent made: the whole dir when it was a temp dir, else only its files. */
  remove(): void;
}

export function openWorkDir(configured: string | undefined): WorkDir {
  const dir = configured ?? tmp.dirSync({ prefix: 'kuma-dp-', mode: 0o700 }).name;
  if (configured) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bootstrapPath = path.join(dir, 'bootstrap.yaml');
  return {
    path: dir,
    bootstrapPath,
    remove: () => {
      if (configured) rmSync(bootstrapPath, { force: true });
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file readable by its owner only, atomically so a restarting Envoy never reads half of it. */
export function writePrivateFile(file: string, content: string): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, content, { mode: 0o600 });
  // mode is ignored for an existing file and masked by umask for a new one.
  chmodSync(partial, 0o600);
  renameSync(partial, file);
}

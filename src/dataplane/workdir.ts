import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';

/**
 * The dataplane's work dir: the bootstrap (a secret: 0600) and the sockets kuma-cp names from the
 * `workdir` of the bootstrap request. 0711, as Go kuma-dp makes it: Envoy and other users can reach
 * a socket whose name they know, but nobody else can list what is there.
 */
export interface WorkDir {
  readonly path: string;
  readonly bootstrapPath: string;
  /** Removes what the agent made: the whole dir when the agent made it, else only the bootstrap. */
  remove(): void;
}

const WORK_DIR_MODE = 0o711;

export function openWorkDir(configured: string | undefined): WorkDir {
  const dir = configured ?? tmp.dirSync({ prefix: 'kuma-dp-', mode: WORK_DIR_MODE }).name;
  if (configured) mkdirSync(dir, { recursive: true, mode: WORK_DIR_MODE });
  // tmp's mode passes through the umask, which may take the x bits away from other users.
  else chmodSync(dir, WORK_DIR_MODE);
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

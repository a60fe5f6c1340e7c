import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir } from '../system/private-dir.js';

/**
 * Where the agent keeps what outlives one run (the pidfiles), checked to be writable by its user
 * alone: $XDG_RUNTIME_DIR/kuma-dp, else /run/kuma-dp for root, else $TMPDIR/kuma-dp-<uid>.
 */
export function openStateDir(env: Readonly<Record<string, string | undefined>>): string {
  const uid = process.getuid?.() ?? 0;
  const runtime = env.XDG_RUNTIME_DIR;
  const dir = runtime && path.isAbsolute(runtime) ? path.join(runtime, 'kuma-dp') : uid === 0 ? '/run/kuma-dp' : path.join(os.tmpdir(), `kuma-dp-${uid}`);
  ensurePrivateDir(dir, 'state directory');
  return dir;
}

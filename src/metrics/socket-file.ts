import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import type { Server } from 'node:http';
import net from 'node:net';

/** How long a connect to an existing socket file may take before it counts as served. */
const PROBE_TIMEOUT_MS = 1000;

/** Whether something accepts connections on the unix socket at path. */
function probe(path: string): Promise<'served' | 'stale' | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = net.connect({ path });
    const done = (result: 'served' | 'stale' | NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // A server too busy to accept within the bound is still a live server.
    const timer = setTimeout(() => done('served'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('served'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'stale' : error));
  });
}

function lstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Makes path free for our socket: nothing there is fine; a socket nobody serves (left by a
 * killed agent) is removed; a socket some process serves, or anything that is not a socket (a
 * file, a symlink), is refused with an error naming it.
 */
export async function claimSocketPath(path: string): Promise<void> {
  const stats = lstat(path);
  if (!stats) return;
  if (!stats.isSocket()) throw new Error(`${path} exists and is not a socket; remove it or choose another work dir`);
  const state = await probe(path);
  if (state === 'served') throw new Error(`${path} is served by another process (another kuma-dp of this dataplane?); stop it first`);
  if (state !== 'stale') throw new Error(`cannot tell whether ${path} is in use: ${state.code ?? state.message}`);
  unlinkSync(path);
}

/** Binds the server to the unix socket at path; the one-line error of a failed bind. */
export function listenOnSocket(server: Server, path: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new Error(`cannot serve ${path}: ${error.code ?? error.message}`));
    server.once('error', failed);
    server.listen({ path, exclusive: true }, () => {
      server.off('error', failed);
      resolve(lstatSync(path));
    });
  });
}

/** Removes the socket file, if it is still the one we bound (not a successor's). */
export function removeSocket(path: string, ours: Stats): void {
  const now = lstat(path);
  if (now && now.ino === ours.ino && now.dev === ours.dev) unlinkSync(path);
}

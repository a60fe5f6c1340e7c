import { execFile } from 'node:child_process';
import { closeSync, constants, fstat, open, promises as fs } from 'node:fs';
import { promisify } from 'node:util';

/**
 * The pipe's mode. Go kuma-dp makes it 0666 less the umask (0644 under the usual 022), so only its
 * owner can write it, and Envoy, run by the agent as the same user, is that owner. Here it is 0600
 * whatever the umask: nobody else may write into it (each line makes the agent connect to the
 * address it names) nor read from it (a reader there would take lines away from the agent).
 */
export const PIPE_MODE = 0o600;
const MKFIFO_TIMEOUT_MS = 5_000;

/**
 * Replaces whatever is at `file` with a new FIFO. unlink() removes a symlink itself, never its
 * target, and mkfifo fails rather than follow one that appears in between. Node has no mkfifo(2),
 * so coreutils' (or busybox's) mkfifo makes it, with a bounded wait.
 */
export async function replaceWithFifo(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new Error(`cannot replace ${file} with the access-log pipe: ${code ?? (error as Error).message}`);
  }
  await new Promise<void>((resolve, reject) => {
    execFile(
      'mkfifo',
      ['-m', PIPE_MODE.toString(8), '--', file],
      { timeout: MKFIFO_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'mkfifo is not on PATH (it comes with coreutils)'
          : error.killed ? `mkfifo did not finish within ${MKFIFO_TIMEOUT_MS}ms`
          : stderr.trim().split('\n')[0] || error.message;
        reject(new Error(`cannot make the access-log pipe ${file}: ${why}`));
      },
    );
  });
}

/** The pipe as opened: its descriptor and identity (to remove only this pipe later). */
export interface OpenPipe {
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Opens the FIFO for reading without blocking: O_NONBLOCK so that open() does not wait for a
 * writer, O_RDWR so that the agent is a writer itself and never reads end-of-file when Envoy
 * closes its end (an Envoy restart then loses nothing), O_NOFOLLOW so that a symlink is refused.
 * What was opened is then checked: a FIFO, the agent's own, open to no one else.
 */
export async function openFifo(file: string): Promise<OpenPipe> {
  // A raw descriptor, not a FileHandle: the net.Socket that reads it closes it, and a FileHandle
  // would close it again when garbage-collected.
  const fd = await promisify(open)(file, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const stat = await promisify(fstat)(fd);
    const uid = process.geteuid?.();
    const problem = !stat.isFIFO() ? 'not a FIFO'
      : uid !== undefined && stat.uid !== uid ? `owned by uid ${stat.uid}, not ${uid}`
      : (stat.mode & 0o077) !== 0 ? `open to other users (mode ${(stat.mode & 0o777).toString(8)})`
      : undefined;
    if (problem) throw new Error(`refusing the access-log pipe ${file}: ${problem}`);
    return { fd, dev: stat.dev, ino: stat.ino };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Removes the pipe, unless something else has taken its place meanwhile. */
export async function removeFifo(file: string, pipe: Pick<OpenPipe, 'dev' | 'ino'>): Promise<void> {
  try {
    const stat = await fs.lstat(file);
    if (stat.isFIFO() && stat.dev === pipe.dev && stat.ino === pipe.ino) await fs.unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

import { closeSync, constants, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

// O_EXCL with O_NOFOLLOW: the temp file is always a new file of ours, never something planted
// under its name (a symlink to a victim file included).
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes a file readable by its owner only, atomically so a restarting Envoy never reads half of it:
 * a new file under an unguessable name, then renamed over the target (which replaces a symlink
 * there rather than writing through it).
 */
export function writePrivateFile(file: string, content: string): void {
  const partial = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  // The mode of a new file passes through the umask, which can only take bits away from 0600.
  const fd = openSync(partial, CREATE_NEW, 0o600);
  try {
    const data = Buffer.from(content);
    for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
  } catch (error) {
    closeSync(fd);
    unlinkSync(partial);
    throw error;
  }
  closeSync(fd);
  renameSync(partial, file);
}

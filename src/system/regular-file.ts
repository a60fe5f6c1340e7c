import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** A file the agent will not read: not a regular file, or larger than it takes. */
export class FileRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FileRefused';
  }
}

// O_NONBLOCK: opening a FIFO must not wait for a writer (the type check then refuses it);
// O_NOCTTY: a terminal device must not become the agent's controlling terminal.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export function describeBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}

function refuseOdd(stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw new FileRefused('not a regular file');
  if (stats.size > maxBytes) throw new FileRefused(`larger than ${describeBytes(maxBytes)}`);
}

function tooLarge(size: number, maxBytes: number): void {
  // The size was checked, but the file may have grown since.
  if (size > maxBytes) throw new FileRefused(`larger than ${describeBytes(maxBytes)}`);
}

/**
 * A regular file's text, read off the event loop and never more than maxBytes of it: a FIFO or a
 * device (/dev/zero) is refused at once instead of freezing or filling the agent.
 * Errors of the file system (ENOENT, EACCES) are thrown as they are.
 */
export async function readRegularFile(file: string, maxBytes: number): Promise<string> {
  const handle = await open(file, FLAGS);
  try {
    refuseOdd(await handle.stat(), maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let size = 0;
    for (let read = -1; read !== 0 && size <= maxBytes; size += read) {
      ({ bytesRead: read } = await handle.read(buffer, size, buffer.length - size, null));
    }
    tooLarge(size, maxBytes);
    return buffer.toString('utf8', 0, size);
  } finally {
    await handle.close();
  }
}

/**
 * The same, for what is read once at start, before anything runs: the checks keep it from
 * blocking, and the bound keeps it short. fd 0 (stdin, e.g. `-d -`) is a pipe the operator chose.
 */
export function readRegularFileSync(file: string | 0, maxBytes: number): string {
  const fd = file === 0 ? 0 : openSync(file, FLAGS);
  try {
    if (fd !== 0) refuseOdd(fstatSync(fd), maxBytes);
    return readOpenedSync(fd, maxBytes);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** At most maxBytes of an open file, as text (FileRefused past that). */
export function readOpenedSync(fd: number, maxBytes: number): string {
  const buffer = Buffer.alloc(maxBytes + 1);
  let size = 0;
  for (let read = -1; read !== 0 && size <= maxBytes; size += read) {
    read = readSync(fd, buffer, size, buffer.length - size, null);
  }
  tooLarge(size, maxBytes);
  return buffer.toString('utf8', 0, size);
}

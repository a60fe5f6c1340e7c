import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { NameRecord } from '../dns/records.js';

// The mesh names in a hosts file (e.g. /etc/hosts), so that applications resolve them through
// the system's resolver with no change to it. Each agent keeps one marked block of its own and
// touches nothing else: the rest of the file stays byte for byte what it was.

const MAX_BYTES = 4 * 1024 * 1024;
// Held for one read-modify-write: a few milliseconds. A lock older than this is a dead agent's.
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 2000;

export class HostsFileError extends Error {}

/** The text of the file with our block set to `records` (none: the block removed). Pure. */
export function withBlock(text: string, id: string, records: readonly NameRecord[]): string {
  const begin = `# kuma-dp ${id} begin: mesh service names (--bind-outbounds), kept by kuma-dp while it runs; do not edit`;
  const end = `# kuma-dp ${id} end`;
  const lines = records.flatMap((record) => record.ips.map((ip) => `${ip}\t${record.name}`));
  const block = lines.length === 0 ? '' : `${[begin, ...lines, end].join('\n')}\n`;
  const found = findBlock(text, `# kuma-dp ${id} begin`, end);
  if (found === 'broken') throw new HostsFileError(`it has a "# kuma-dp ${id} begin" line without its end line; fix or remove it by hand`);
  if (found) return text.slice(0, found.start) + block + text.slice(found.end);
  // A new block goes last; before a last line without its newline it would change that line, so first then.
  return text === '' || text.endsWith('\n') ? text + block : block + text;
}

function findBlock(text: string, beginPrefix: string, end: string): { start: number; end: number } | 'broken' | undefined {
  const start = text.startsWith(beginPrefix) ? 0 : text.indexOf(`\n${beginPrefix}`) + 1;
  if (start === 0 && !text.startsWith(beginPrefix)) return undefined;
  const at = text.indexOf(`\n${end}`, start);
  if (at < 0 || ![undefined, '\n'].includes(text[at + 1 + end.length])) return 'broken';
  return { start, end: Math.min(text.length, at + 1 + end.length + 1) };
}

/** One agent's block in one hosts file. */
export class HostsFileBlock {
  /** The file as we last left it, to notice cheaply when someone else wrote it. */
  private written?: string;

  constructor(
    readonly file: string,
    private readonly id: string,
  ) {}

  /** Sets the block; throws a HostsFileError saying why the file cannot be kept. */
  async set(records: readonly NameRecord[]): Promise<void> {
    await this.locked(() => this.rewrite(records));
  }

  /** True when the file changed since we wrote it (an edit, another agent, a tool replacing it). */
  changedSinceWritten(): boolean {
    try {
      return signature(lstatSync(this.file)) !== this.written;
    } catch {
      return this.written !== undefined;
    }
  }

  private rewrite(records: readonly NameRecord[]): void {
    let stats: Stats | undefined;
    try {
      stats = lstatSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new HostsFileError(`cannot read it: ${(error as NodeJS.ErrnoException).code}`);
    }
    if (stats?.isSymbolicLink()) throw new HostsFileError('it is a symbolic link; kuma-dp does not write through links it did not make');
    if (stats && !stats.isFile()) throw new HostsFileError('it is not a regular file');
    const uid = process.getuid?.() ?? 0;
    if (stats && stats.uid !== uid && stats.uid !== 0) throw new HostsFileError(`it belongs to another user (uid ${stats.uid})`);
    if (stats && (stats.mode & 0o002) !== 0) throw new HostsFileError('anyone can write it; kuma-dp does not keep names in a file others may change');
    const text = stats ? readBounded(this.file) : '';
    const next = withBlock(text, this.id, records);
    if (next === text) {
      this.written = stats ? signature(stats) : undefined;
      return;
    }
    this.replace(next, stats);
    this.written = signature(lstatSync(this.file));
  }

  /** Atomically: a new file beside it, renamed over it, with the old one's owner and mode. */
  private replace(text: string, stats: Stats | undefined): void {
    const dir = path.dirname(this.file);
    const temp = path.join(dir, `.${path.basename(this.file)}.kuma-dp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const fd = openOrFail(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, stats ? stats.mode & 0o7777 : 0o644);
    try {
      if (stats && process.getuid?.() === 0) fchownSync(fd, stats.uid, stats.gid);
      writeAll(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, this.file);
    } catch (error) {
      unlinkSync(temp);
      // A file bind-mounted into a container (Docker's /etc/hosts) cannot be replaced, only rewritten.
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw new HostsFileError(`cannot replace it: ${(error as NodeJS.ErrnoException).code}`);
      const inPlace = openOrFail(this.file, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW, 0);
      try {
        writeAll(inPlace, text);
      } finally {
        closeSync(inPlace);
      }
    }
  }

  /** Runs `work` holding `<file>.kuma-dp.lock`, so that agents on one host never undo each other's blocks. */
  private async locked(work: () => void): Promise<void> {
    const lock = `${this.file}.kuma-dp.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        writeAll(fd, `${process.pid}\n`);
        closeSync(fd);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new HostsFileError(`cannot lock it (${path.basename(lock)}): ${code}`);
      }
      if (lockIsStale(lock)) {
        unlinkQuietly(lock);
        continue;
      }
      if (Date.now() > deadline) throw new HostsFileError(`another kuma-dp holds ${lock} for more than ${LOCK_WAIT_MS}ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    try {
      work();
    } finally {
      unlinkQuietly(lock);
    }
  }
}

function lockIsStale(lock: string): boolean {
  try {
    const stats = lstatSync(lock);
    if (Date.now() - stats.mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(readBounded(lock).trim());
    // Only a look at /proc: a lock's pid is never signalled.
    return Number.isInteger(pid) && pid > 0 && !existsProcess(pid);
  } catch {
    return false;
  }
}

function existsProcess(pid: number): boolean {
  try {
    lstatSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

const signature = (stats: Stats) => `${stats.ino}:${stats.size}:${stats.mtimeMs}`;

function openOrFail(file: string, flags: number, mode: number): number {
  try {
    return openSync(file, flags, mode);
  } catch (error) {
    throw new HostsFileError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
}

function readBounded(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_BYTES) throw new HostsFileError(`it is larger than ${MAX_BYTES} bytes`);
    // Room for a file that grows while it is read, up to the bound.
    const buffer = Buffer.alloc(Math.min(MAX_BYTES + 1, size + 65536));
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) throw new HostsFileError('it grew while kuma-dp read it');
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

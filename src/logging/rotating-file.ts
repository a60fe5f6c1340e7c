import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface RotationPolicy {
  readonly maxSizeBytes: number;
  /** Rotated files to keep; 0 keeps all. */
  readonly maxBackups: number;
  /** Rotated files older than this are removed; 0 keeps them whatever their age. */
  readonly maxAgeMs: number;
}

// Rotated files are named as Go kuma-dp's lumberjack names them: kuma.log → kuma-2021-06-07T09-15-18.265.log (UTC).
const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

function stampOf(date: Date): string {
  return date.toISOString().replace(/:/g, '-').replace(/Z$/, '');
}

function dateOf(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : undefined;
}

/**
 * A log file written synchronously (the last line before an exit must not be lost) and rotated by
 * size as `--log-output-path` does in Go kuma-dp: the full file is renamed with a timestamp, a new
 * one is started, and rotated files beyond the count or age limit are removed. Files are 0600:
 * logs name the dataplane and its control plane. A symlink at the path is refused.
 */
export class RotatingFile {
  private fd: number;
  private size: number;
  private readonly dir: string;
  private readonly base: string;
  private readonly ext: string;

  constructor(
    private readonly file: string,
    private readonly policy: RotationPolicy,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.dir = path.dirname(file);
    this.ext = path.extname(file);
    this.base = path.basename(file, this.ext);
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    this.fd = this.open();
    this.size = fstatSync(this.fd).size;
    this.prune();
  }

  private open(): number {
    return openSync(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  }

  write(text: string): void {
    const bytes = Buffer.byteLength(text);
    try {
      if (this.size > 0 && this.size + bytes > this.policy.maxSizeBytes) this.rotate();
      writeSync(this.fd, text);
      this.size += bytes;
    } catch {
      // A full disk or a removed directory must not take the dataplane down with its logs.
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.file, path.join(this.dir, `${this.base}-${stampOf(this.now())}${this.ext}`));
    this.fd = this.open();
    this.size = 0;
    this.prune();
  }

  /** Removes rotated files beyond maxBackups (oldest first) and older than maxAge. */
  private prune(): void {
    const prefix = `${this.base}-`;
    const rotated = readdirSync(this.dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith(this.ext))
      .map((name) => ({ name, time: dateOf(name.slice(prefix.length, name.length - this.ext.length)) }))
      .filter((entry): entry is { name: string; time: number } => entry.time !== undefined)
      .sort((a, b) => b.time - a.time);
    const cutoff = this.now().getTime() - this.policy.maxAgeMs;
    rotated.forEach((entry, index) => {
      const tooMany = this.policy.maxBackups > 0 && index >= this.policy.maxBackups;
      const tooOld = this.policy.maxAgeMs > 0 && entry.time < cutoff;
      if (tooMany || tooOld) rmSync(path.join(this.dir, entry.name), { force: true });
    });
  }

  close(): void {
    closeSync(this.fd);
  }
}

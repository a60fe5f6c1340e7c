/** The longest line kept: Envoy's entries are far shorter; longer ones are dropped, not cut. */
export const MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * Cuts the bytes read from the pipe into lines (without their `\n`), however the writes were
 * split. A line longer than the cap is dropped whole: its bytes are skipped up to the next `\n`.
 * Memory: at most one unfinished line of up to the cap.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private skipping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: () => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.finish(chunk, start, end);
      start = end + 1;
    }
    if (start === chunk.length || this.skipping) return;
    if (this.partBytes + chunk.length - start > this.maxBytes) {
      this.drop();
      this.skipping = true;
      return;
    }
    // A copy: the rest of a chunk must not keep the whole chunk alive.
    this.parts.push(Buffer.from(chunk.subarray(start)));
    this.partBytes += chunk.length - start;
  }

  /** Drops a line begun but not ended (the writer died mid-line, or the agent stops); true if there was one. */
  discardUnfinished(): boolean {
    const had = this.partBytes > 0;
    this.parts = [];
    this.partBytes = 0;
    this.skipping = false;
    return had;
  }

  private finish(chunk: Buffer, start: number, end: number): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (this.partBytes === 0) {
      if (end - start > this.maxBytes) this.onTooLong();
      else this.onLine(chunk.toString('utf8', start, end));
      return;
    }
    const total = this.partBytes + end - start;
    if (total > this.maxBytes) {
      this.drop();
      return;
    }
    this.parts.push(chunk.subarray(start, end));
    const line = Buffer.concat(this.parts, total).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    this.onLine(line);
  }

  private drop(): void {
    this.parts = [];
    this.partBytes = 0;
    this.onTooLong();
  }
}

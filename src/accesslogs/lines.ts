/** The longest line kept: Envoy's entries are far shorter; longer ones are dropped, not cut. */
export const MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * Called with each line: `bytes[start, end)`, followed by its `\n` at `bytes[end]`. The bytes are
 * the reader's own; whoever keeps some must copy them before the next chunk.
 */
export type LineHandler = (bytes: Buffer, start: number, end: number) => void;

/**
 * Cuts the bytes read from the pipe into lines, however the writes were split. A line longer
 * than the cap is dropped whole: its bytes are skipped up to the next `\n`. Memory: at most one
 * unfinished line of up to the cap.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private skipping = false;

  constructor(
    private readonly onLine: LineHandler,
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

  /** Drops a line begun but not ended (the agent stops); true if there was one. */
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
      else this.onLine(chunk, start, end);
      return;
    }
    const length = this.partBytes + end - start;
    if (length > this.maxBytes) {
      this.drop();
      return;
    }
    this.parts.push(chunk.subarray(start, end + 1));
    const line = Buffer.concat(this.parts, length + 1);
    this.parts = [];
    this.partBytes = 0;
    this.onLine(line, 0, length);
  }

  private drop(): void {
    this.parts = [];
    this.partBytes = 0;
    this.onTooLong();
  }
}

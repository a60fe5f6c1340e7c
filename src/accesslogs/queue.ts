/** Messages stored back to back: `data` holds them in order, `sizes` their lengths. */
export interface Block {
  readonly data: Buffer;
  readonly sizes: readonly number[];
}

/** Where the bytes of every queue are summed up (the streamer's stats). */
export interface BufferGauge {
  bufferedBytes: number;
}

/**
 * The messages routed to a backend since it was last serviced, as ranges of the bytes they were
 * read in; ranges that follow each other in the same bytes are kept as one.
 */
export class PendingMessages {
  private sources: Buffer[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private sizes: number[] = [];

  get count(): number {
    return this.sizes.length;
  }

  add(bytes: Buffer, start: number, end: number): void {
    const last = this.sources.length - 1;
    if (last >= 0 && this.sources[last] === bytes && this.ends[last] === start) this.ends[last] = end;
    else {
      this.sources.push(bytes);
      this.starts.push(start);
      this.ends.push(end);
    }
    this.sizes.push(end - start);
  }

  /** The messages as one block, which may share memory with the bytes they were read in. */
  take(): Block {
    const views = this.sources.map((source, i) => source.subarray(this.starts[i], this.ends[i]));
    const block = { data: views.length === 1 ? views[0]! : Buffer.concat(views), sizes: this.sizes };
    this.sources = [];
    this.starts = [];
    this.ends = [];
    this.sizes = [];
    return block;
  }
}

interface Segment {
  readonly data: Buffer;
  readonly sizes: readonly number[];
  /** The first message not taken yet, and where it starts in `data`. */
  index: number;
  offset: number;
}

/** Messages waiting for a backend, oldest first, in blocks that own their memory. */
export class MessageQueue {
  private segments: Segment[] = [];
  private head = 0;
  private count = 0;
  private total = 0;

  constructor(private readonly gauge: BufferGauge) {}

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.total;
  }

  /** Adds a block at the back; its memory must be its own, not a view of a chunk read in. */
  push(block: Block): void {
    if (block.sizes.length === 0) return;
    this.segments.push({ data: block.data, sizes: block.sizes, index: 0, offset: 0 });
    this.count += block.sizes.length;
    this.add(block.data.length);
  }

  /** Puts blocks back at the front, in their order (writes that failed). */
  unshift(blocks: readonly Block[]): void {
    const front = blocks.filter((block) => block.sizes.length > 0).map((block) => ({ data: block.data, sizes: block.sizes, index: 0, offset: 0 }));
    this.segments = [...front, ...this.segments.slice(this.head)];
    this.head = 0;
    for (const block of front) {
      this.count += block.sizes.length;
      this.add(block.data.length);
    }
  }

  /** Drops the oldest message; the queue must not be empty. */
  dropOldest(): void {
    const segment = this.segments[this.head]!;
    const size = segment.sizes[segment.index]!;
    segment.index += 1;
    segment.offset += size;
    this.count -= 1;
    this.add(-size);
    if (segment.index === segment.sizes.length) this.advance();
  }

  /** Takes whole messages from the front, at least one, until `maxBytes` is reached. */
  take(maxBytes: number): Block {
    const parts: Buffer[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    while (this.count > 0 && bytes < maxBytes) {
      const segment = this.segments[this.head]!;
      const from = segment.index;
      const offset = segment.offset;
      while (segment.index < segment.sizes.length && bytes < maxBytes) {
        const size = segment.sizes[segment.index]!;
        sizes.push(size);
        segment.index += 1;
        segment.offset += size;
        bytes += size;
      }
      parts.push(segment.data.subarray(offset, segment.offset));
      this.count -= segment.index - from;
      if (segment.index === segment.sizes.length) this.advance();
    }
    this.add(-bytes);
    return { data: parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), sizes };
  }

  /** Empties the queue; returns how many messages it held. */
  clear(): number {
    const dropped = this.count;
    this.segments = [];
    this.head = 0;
    this.count = 0;
    this.add(-this.total);
    return dropped;
  }

  private advance(): void {
    this.segments[this.head] = DONE;
    this.head += 1;
    // Forget the finished segments now and then, so that a long-lived queue does not grow.
    if (this.head >= 64 && this.head * 2 >= this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
  }

  private add(bytes: number): void {
    this.total += bytes;
    this.gauge.bufferedBytes += bytes;
  }
}

const DONE: Segment = { data: Buffer.alloc(0), sizes: [], index: 0, offset: 0 };

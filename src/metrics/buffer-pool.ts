/** Kept between scrapes, at most: an Envoy of tens of thousands of series answers a few MiB. */
const DEFAULT_MAX_KEPT_BYTES = 8 * 1024 * 1024;
/** Smaller buffers come from Node's own pool; these are for whole answers. */
const MIN_BYTES = 64 * 1024;

/**
 * Large buffers kept for the next scrape. A fresh buffer of a megabyte is fresh pages from the
 * kernel (malloc maps blocks above 128 KiB, see the `#!` line of the bundle), faulted in, zeroed
 * and unmapped on every scrape; a scrape of a large Envoy reuses the last one's instead.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxKeptBytes = DEFAULT_MAX_KEPT_BYTES) {}

  /** The buffers one scrape takes, all given back at once when its answer is written. */
  lease(): Lease {
    return new Lease(this);
  }

  /** The smallest kept buffer of at least `size` bytes, or a new one. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.length;
      if (length >= size && (best < 0 || length < this.free[best]!.length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.max(size, MIN_BYTES));
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
    this.free.sort((a, b) => b.length - a.length);
    let kept = 0;
    // The largest are kept: a smaller answer fits in them, a larger one does not fit in small ones.
    const keep = this.free.filter((candidate) => (kept += candidate.length) <= this.maxKeptBytes);
    this.free.length = 0;
    this.free.push(...keep);
  }

  /** Bytes kept for reuse. */
  get keptBytes(): number {
    return this.free.reduce((sum, buffer) => sum + buffer.length, 0);
  }
}

/** What one scrape took from the pool. */
export class Lease {
  private readonly taken: Buffer[] = [];

  constructor(private readonly pool: BufferPool) {}

  take(size: number): Buffer {
    const buffer = this.pool.take(size);
    this.taken.push(buffer);
    return buffer;
  }

  /** Every buffer back to the pool: nothing taken may be read or written after this. */
  release(): void {
    for (const buffer of this.taken.splice(0)) this.pool.give(buffer);
  }
}

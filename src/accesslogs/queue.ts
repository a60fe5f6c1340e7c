/** Where the bytes of every queue are summed up (the streamer's stats). */
export interface BufferGauge {
  bufferedBytes: number;
}

/** Messages in order with their sizes in bytes: push at the back, take from the front. */
export class MessageQueue {
  private messages: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly gauge: BufferGauge) {}

  get bytes(): number {
    return this.total;
  }

  get length(): number {
    return this.messages.length - this.head;
  }

  push(message: string, size: number): void {
    this.messages.push(message);
    this.sizes.push(size);
    this.add(size);
  }

  /** Size of the first message; the queue must not be empty. */
  peekSize(): number {
    return this.sizes[this.head]!;
  }

  /** Takes the first message; the queue must not be empty. */
  shift(): string {
    const message = this.messages[this.head]!;
    this.add(-this.sizes[this.head]!);
    this.head += 1;
    // Forget the taken ones now and then, so that a long-lived queue does not grow.
    if (this.head >= 1024 && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  /** Puts messages back at the front, in their order (a write that failed). */
  unshiftAll(messages: readonly string[], sizes: readonly number[]): void {
    this.messages = [...messages, ...this.messages.slice(this.head)];
    this.sizes = [...sizes, ...this.sizes.slice(this.head)];
    this.head = 0;
    for (const size of sizes) this.add(size);
  }

  clear(): number {
    const dropped = this.length;
    this.messages = [];
    this.sizes = [];
    this.head = 0;
    this.add(-this.total);
    return dropped;
  }

  private add(bytes: number): void {
    this.total += bytes;
    this.gauge.bufferedBytes += bytes;
  }
}

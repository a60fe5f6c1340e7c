/** Where the bytes of every queue are summed up (the streamer's stats). */
export interface BufferGauge {
  bufferedBytes: number;
}

/** Messages in order: push at the back, take from the front. */
export class MessageQueue {
  private messages: Buffer[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly gauge: BufferGauge) {}

  get length(): number {
    return this.messages.length - this.head;
  }

  get bytes(): number {
    return this.total;
  }

  push(message: Buffer): void {
    this.messages.push(message);
    this.add(message.length);
  }

  /** Takes the first message; the queue must not be empty. */
  shift(): Buffer {
    const message = this.messages[this.head]!;
    this.messages[this.head] = EMPTY;
    this.head += 1;
    this.add(-message.length);
    // Forget the taken ones now and then, so that a long-lived queue does not grow.
    if (this.head >= 1024 && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  /** Puts messages back at the front, in their order (a write that failed). */
  unshiftAll(messages: readonly Buffer[]): void {
    this.messages = [...messages, ...this.messages.slice(this.head)];
    this.head = 0;
    for (const message of messages) this.add(message.length);
  }

  /**
   * Gives the last `count` messages memory of their own, in one block: they may still point into
   * a chunk read from the pipe, which must not stay alive for them.
   */
  ownTail(count: number): void {
    const from = Math.max(this.head, this.messages.length - count);
    if (from === this.messages.length) return;
    let offset = 0;
    const block = Buffer.concat(this.messages.slice(from));
    for (let i = from; i < this.messages.length; i++) {
      const length = this.messages[i]!.length;
      this.messages[i] = block.subarray(offset, offset + length);
      offset += length;
    }
  }

  clear(): number {
    const dropped = this.length;
    this.messages = [];
    this.head = 0;
    this.add(-this.total);
    return dropped;
  }

  private add(bytes: number): void {
    this.total += bytes;
    this.gauge.bufferedBytes += bytes;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The latest value of something that changes (the bootstrap Envoy runs with, the supervisor's
 * state), with listeners. Components read what they need from it without the wiring knowing who
 * listens.
 */
export class Feed<T> {
  private current?: T;
  private readonly listeners = new Set<(value: T) => void>();

  get value(): T | undefined {
    return this.current;
  }

  publish(value: T): void {
    this.current = value;
    for (const listener of this.listeners) listener(value);
  }

  /** Calls the listener on every value from now on; returns the function that stops it. */
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

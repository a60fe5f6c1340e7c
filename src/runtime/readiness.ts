/** The answers of Go kuma-dp's readiness endpoint, kept so that existing probes keep working. */
export type Readiness = 'READY' | 'NOT_READY' | 'TERMINATING';

export interface Gate {
  open(): void;
  close(): void;
}

/**
 * A dataplane is ready when every gate is open and no stop has begun. Components add the gates
 * they need: Envoy live with its configuration; the DNS proxy's first records.
 */
export class ReadinessGates {
  private readonly closed = new Set<string>();
  private readonly names = new Set<string>();
  private terminating = false;
  private readonly listeners = new Set<(readiness: Readiness) => void>();

  /** A new gate, closed until opened. */
  gate(name: string): Gate {
    if (this.names.has(name)) throw new Error(`readiness gate ${name} exists already`);
    this.names.add(name);
    this.closed.add(name);
    return { open: () => this.set(name, true), close: () => this.set(name, false) };
  }

  /** From the first stop on, the answer is TERMINATING whatever the gates say. */
  terminate(): void {
    if (this.terminating) return;
    this.terminating = true;
    this.emit();
  }

  get state(): Readiness {
    if (this.terminating) return 'TERMINATING';
    return this.closed.size === 0 && this.names.size > 0 ? 'READY' : 'NOT_READY';
  }

  /** The gates still closed, for messages that say what the dataplane waits for. */
  get waitingFor(): readonly string[] {
    return [...this.closed];
  }

  onChange(listener: (readiness: Readiness) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(name: string, open: boolean): void {
    const before = this.state;
    if (open) this.closed.delete(name);
    else this.closed.add(name);
    if (this.state !== before) this.emit();
  }

  private emit(): void {
    const state = this.state;
    for (const listener of this.listeners) listener(state);
  }
}

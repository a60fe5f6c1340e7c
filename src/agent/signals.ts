const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGHUP'] as const;

/**
 * Takes over the signals the agent handles from the very start, so that a SIGTERM that arrives
 * while Envoy's version is checked or the bootstrap fetched is not the default "die now", but is
 * queued and then handed to the supervisor once it exists.
 */
export interface CapturedSignals {
  deliverTo(handler: (signal: NodeJS.Signals) => void): void;
}

export function captureSignals(): CapturedSignals {
  const queued: NodeJS.Signals[] = [];
  let deliver: ((signal: NodeJS.Signals) => void) | undefined;
  for (const signal of HANDLED_SIGNALS) {
    process.on(signal, () => (deliver ? deliver(signal) : queued.push(signal)));
  }
  return {
    deliverTo(handler) {
      deliver = handler;
      for (const signal of queued.splice(0)) handler(signal);
    },
  };
}

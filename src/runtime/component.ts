import type { Logger } from '../logging/logger.js';
import type { ReadinessGates } from './readiness.js';

/**
 * One part of a dataplane with a life cycle: Envoy's supervisor, the metrics socket, the
 * access-log streamer, the DNS proxy, the dynamic-configuration poller. A new part is a folder
 * with a function that returns one of these, and one line in the dataplane's component list.
 */
export interface Component {
  readonly name: string;
  /** Strings for the bootstrap request's `features`: what kuma-cp may rely on while this part runs. */
  readonly features?: readonly string[];
  /**
   * A failure of a resilient component restarts it with backoff (Go kuma-dp's resilient
   * component); a failure or end of any other component stops the whole dataplane.
   */
  readonly resilient?: boolean;
  /** Starts the component; resolves once it serves, rejects when it cannot start. */
  start(context: ComponentContext): Promise<Running>;
}

export interface Running {
  /**
   * Settles when the component ends by itself: fulfilled, it is done; rejected, it failed.
   * Absent for a component that runs until it is stopped.
   */
  readonly ended?: Promise<void>;
  /** Stops the component and releases what it holds; called once. */
  stop(): Promise<void>;
  /** How long its stop may take before the manager goes on without it (default STOP_BOUND_MS). */
  readonly stopBoundMs?: number;
}

export interface ComponentContext {
  /** The dataplane's logger with `component` set. */
  readonly logger: Logger;
  /** Where the component holds back readiness until it can serve (e.g. the DNS proxy's first records). */
  readonly readiness: ReadinessGates;
}

/** The feature strings of the components that are on, in order, each once. */
export function featuresOf(components: readonly Component[]): string[] {
  return [...new Set(components.flatMap((component) => component.features ?? []))];
}

import type { Agent } from 'node:http';
import { BodyTooLarge, readBody } from '../http/body.js';
import { deadline, keepAliveAgent, request } from '../http/client.js';
import type { AdminAddress } from '../bootstrap/admin-address.js';
import { DrainNotStarted } from '../supervisor/driver.js';

export interface EnvoyReadiness {
  /** /ready said LIVE. */
  readonly live: boolean;
  /** /ready's text: LIVE, PRE_INITIALIZING, INITIALIZING, DRAINING. */
  readonly state: string;
}

const CONFIG_STATS = ['cluster_manager.cds.update_success', 'listener_manager.lds.update_success'];
/** The most of /ready's, /stats' (filtered) or a POST's answer the agent reads: a few bytes in truth. */
const MAX_SHORT_ANSWER_BYTES = 1024 * 1024;

/** Envoy's admin API, over TCP on loopback or over the CP's unix socket. */
export class EnvoyAdmin {
  private readonly origin: string;
  private readonly socketPath: string | undefined;
  // One kept-alive connection: polling must cost Envoy and us next to nothing.
  private readonly agent: Agent = keepAliveAgent({ maxSockets: 1 });

  constructor(
    address: AdminAddress,
    /** Bounds each call, headers and body. */
    private readonly timeoutMs = 1000,
  ) {
    const pipe = address.kind === 'pipe';
    this.origin = pipe ? 'http://localhost' : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    this.socketPath = pipe ? address.path : undefined;
  }

  /** The answer to one call, its body read within maxBytes. Envoy's admin POSTs may be sent twice. */
  private async call(method: 'GET' | 'POST', path: string, maxBytes: number): Promise<{ status: number; body: string }> {
    const bound = deadline(this.timeoutMs);
    try {
      const answer = await request(`${this.origin}${path}`, {
        method,
        agent: this.agent,
        idempotent: true,
        ...(this.socketPath !== undefined && { socketPath: this.socketPath }),
        signal: bound.signal,
      });
      return { status: answer.statusCode, body: await readBody(answer, maxBytes) };
    } finally {
      bound.clear();
    }
  }

  async readiness(): Promise<EnvoyReadiness> {
    const { status, body } = await this.call('GET', '/ready', MAX_SHORT_ANSWER_BYTES);
    const state = body.trim();
    return { live: status === 200 && state === 'LIVE', state };
  }

  /**
   * /ready turns LIVE after the initial fetch timeout even when no control plane answered; only
   * the xDS update counters tell that Envoy really has clusters and listeners.
   */
  async hasConfiguration(): Promise<boolean> {
    const { status, body } = await this.call('GET', `/stats?format=json&filter=${encodeURIComponent('update_success$')}`, MAX_SHORT_ANSWER_BYTES);
    if (status !== 200) return false;
    const stats = (JSON.parse(body) as { stats?: Array<{ name?: string; value?: number }> }).stats ?? [];
    return CONFIG_STATS.every((name) => (stats.find((s) => s.name === name)?.value ?? 0) >= 1);
  }

  /**
   * Starts draining: readiness turns DRAINING for load balancers, listeners drain gracefully.
   * Rejects with DrainNotStarted when Envoy did not take `/healthcheck/fail`: then nobody was
   * told to stop sending traffic, and waiting out the drain time would only delay the stop.
   */
  async drain(options: { inboundOnly?: boolean } = {}): Promise<void> {
    try {
      await this.post('/healthcheck/fail');
    } catch (error) {
      throw new DrainNotStarted((error as Error).message);
    }
    await this.post(`/drain_listeners?graceful${options.inboundOnly ? '&inboundonly' : ''}&skip_exit`);
  }

  /** A GET whose answer must be 200 and at most maxBytes long (Envoy's listeners grow with the mesh). */
  async get(path: string, maxBytes: number): Promise<string> {
    let read: { status: number; body: string };
    try {
      read = await this.call('GET', path, maxBytes);
    } catch (error) {
      throw error instanceof BodyTooLarge ? new Error(`GET ${path}: Envoy's answer is ${error.message}`) : error;
    }
    if (read.status !== 200) throw new Error(`GET ${path} answered ${read.status}: ${read.body.trim().slice(0, 200)}`);
    return read.body;
  }

  private async post(path: string): Promise<void> {
    const { status, body } = await this.call('POST', path, MAX_SHORT_ANSWER_BYTES);
    if (status !== 200) throw new Error(`POST ${path} answered ${status}: ${body.trim()}`);
  }

  /** Drops the kept-alive connection, and any call still under way. */
  async close(): Promise<void> {
    this.agent.destroy();
  }
}

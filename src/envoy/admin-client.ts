import { BodyTooLarge, readBody } from '../http/body.js';
import { Agent, request, type Dispatcher } from '../http/undici.js';
import type { AdminAddress } from '../bootstrap/admin-address.js';
import { DrainNotStarted } from '../supervisor/driver.js';

export interface EnvoyReadiness {
  /** /ready said LIVE. */
  readonly live: boolean;
  /** /ready's text: LIVE, PRE_INITIALIZING, INITIALIZING, DRAINING. */
  readonly state: string;
}

const CONFIG_STATS = ['cluster_manager.cds.update_success', 'listener_manager.lds.update_success'];

/** Envoy's admin API, over TCP on loopback or over the CP's unix socket. */
export class EnvoyAdmin {
  private readonly origin: string;
  private readonly dispatcher: Dispatcher;

  constructor(
    address: AdminAddress,
    private readonly timeoutMs = 1000,
  ) {
    const pipe = address.kind === 'pipe';
    this.origin = pipe ? 'http://localhost' : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    // One kept-alive connection: polling must cost Envoy and us next to nothing.
    this.dispatcher = new Agent({ connections: 1, pipelining: 1, ...(pipe && { connect: { socketPath: address.path } }) });
  }

  private async call(method: 'GET' | 'POST', path: string): Promise<{ status: number; body: string }> {
    const answer = await request(`${this.origin}${path}`, {
      method,
      dispatcher: this.dispatcher,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    return { status: answer.statusCode, body: await answer.body.text() };
  }

  async readiness(): Promise<EnvoyReadiness> {
    const { status, body } = await this.call('GET', '/ready');
    const state = body.trim();
    return { live: status === 200 && state === 'LIVE', state };
  }

  /**
   * /ready turns LIVE after the initial fetch timeout even when no control plane answered; only
   * the xDS update counters tell that Envoy really has clusters and listeners.
   */
  async hasConfiguration(): Promise<boolean> {
    const { status, body } = await this.call('GET', `/stats?format=json&filter=${encodeURIComponent('update_success$')}`);
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
    const answer = await request(`${this.origin}${path}`, { dispatcher: this.dispatcher, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    let body: string;
    try {
      body = await readBody(answer, maxBytes);
    } catch (error) {
      throw error instanceof BodyTooLarge ? new Error(`GET ${path}: Envoy's answer is ${error.message}`) : error;
    }
    if (answer.statusCode !== 200) throw new Error(`GET ${path} answered ${answer.statusCode}: ${body.trim().slice(0, 200)}`);
    return body;
  }

  private async post(path: string): Promise<void> {
    const { status, body } = await this.call('POST', path);
    if (status !== 200) throw new Error(`POST ${path} answered ${status}: ${body.trim()}`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

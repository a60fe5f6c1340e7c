import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { MetricsSource } from './metrics.js';
import { createDnsProxy, type DnsMember, type DnsProxy } from './proxy.js';
import type { ListenAddress } from './server.js';

export interface DnsProxiesOptions {
  /** The agent's logger: the proxy serves the process, not one dataplane. */
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where the upstream nameserver is read from (tests use their own file). */
  readonly resolvConf?: string;
}

/** A dataplane's membership of the process's DNS proxy. */
export interface DnsMembership extends Omit<DnsMember, 'remove'> {
  /** Where the proxy listens. */
  readonly listening: readonly ListenAddress[];
  /** The proxy's metrics (shared by its members: one proxy, one set). */
  readonly metrics: MetricsSource;
  /** Removes this dataplane's names; the last member to leave closes the proxy. */
  leave(): Promise<void>;
}

interface Shared {
  readonly proxy: DnsProxy;
  readonly listening: Promise<void>;
  members: number;
}

const keyOf = (addresses: readonly ListenAddress[]) => addresses.map(({ host, port }) => `${host}:${port}`).join(',');

/**
 * The process-wide DNS proxy: every dataplane of the agent (one, or a fleet) that serves names
 * joins it, instead of binding the DNS port itself, where only the first would get it. Dataplanes
 * that ask for the same addresses (the same --dns-proxy-port and transparent-proxy families: the
 * usual fleet) share one proxy answering all their names; the proxy listens while it has members.
 */
export class DnsProxies {
  private readonly shared = new Map<string, Shared>();
  /** A proxy being closed: a new one on its addresses waits for the ports to be free. */
  private readonly closing = new Map<string, Promise<void>>();

  constructor(private readonly options: DnsProxiesOptions) {}

  /** Joins (and starts, when first) the proxy on these addresses; rejects when they cannot be bound. */
  async join(id: string, addresses: readonly ListenAddress[]): Promise<DnsMembership> {
    const key = keyOf(addresses);
    let shared = this.shared.get(key);
    if (!shared) {
      await this.closing.get(key);
      shared = this.shared.get(key);
    }
    if (!shared) {
      const proxy = createDnsProxy({ addresses, clock: this.options.clock, resolvConf: this.options.resolvConf });
      const created: Shared = { proxy, listening: proxy.listen(this.options.logger.child({ component: 'dns-proxy' })), members: 0 };
      this.shared.set(key, created);
      created.listening.catch(() => {
        if (this.shared.get(key) === created) this.shared.delete(key);
      });
      shared = created;
    }
    shared.members += 1;
    const current = shared;
    let member: DnsMember;
    try {
      await current.listening;
      member = current.proxy.member(id);
    } catch (error) {
      await this.release(key, current);
      throw error;
    }
    let left = false;
    return {
      update: (config) => member.update(config),
      setNames: (names) => member.setNames(names),
      get listening() {
        return current.proxy.listening;
      },
      metrics: current.proxy.metrics,
      leave: async () => {
        if (left) return;
        left = true;
        member.remove();
        await this.release(key, current);
      },
    };
  }

  /** One member fewer; the last one closes the proxy. */
  private async release(key: string, shared: Shared): Promise<void> {
    shared.members -= 1;
    if (shared.members > 0 || this.shared.get(key) !== shared) return;
    this.shared.delete(key);
    const closed = shared.proxy.close().finally(() => this.closing.delete(key));
    this.closing.set(key, closed);
    await closed;
  }
}

import type { Clock } from '../runtime/clock.js';
import type { Component, ComponentContext, Running } from '../runtime/component.js';
import type { Gate } from '../runtime/readiness.js';
import { prometheusText } from './metrics.js';
import type { DnsMembership, DnsProxies } from './proxies.js';
import type { NameRecord } from './records.js';
import type { ListenAddress } from './server.js';

/** Go kuma-dp's readiness gate on the first `/dns` configuration: after this, ready anyway. */
export const FIRST_RECORDS_WAIT_MS = 15_000;
/** kuma-cp's feature string: with it, a 2.11–2.14 kuma-cp sends `/dns` instead of giving Envoy a DNS listener on our port. */
export const FEATURE_EMBEDDED_DNS = 'feature-embedded-dns';

export interface DnsOptions {
  /** The process's DNS proxies, which this dataplane joins. */
  readonly proxies: DnsProxies;
  /** The dataplane (mesh/name) whose names these are. */
  readonly id: string;
  readonly addresses: readonly ListenAddress[];
  /** Hold readiness back until kuma-cp's first `/dns` configuration (it sends one when DNS is redirected). */
  readonly waitForRecords: boolean;
  readonly clock: Clock;
}

/** A dataplane's part of the DNS proxy: its names, answered by the proxy of the process while it runs. */
export interface DnsComponent extends Component {
  /** Consumer of kuma-cp's `/dns` dynamic configuration (the parsed JSON); throws when it is malformed or the proxy does not run. */
  update(config: unknown): void;
  /** The names this agent derives itself (bind-outbounds), answered beside kuma-cp's. */
  setNames(records: readonly NameRecord[]): void;
  /** The proxy's `kuma_dp_dns_*` metrics while this dataplane is a member, in Prometheus text. */
  metricsText(): string;
}

export function dnsComponent(options: DnsOptions): DnsComponent {
  const { clock } = options;
  let membership: DnsMembership | undefined;
  let gate: Gate | undefined;
  let gateTimer: unknown;

  return {
    name: 'dns-proxy',
    features: [FEATURE_EMBEDDED_DNS],

    update(config) {
      // Thrown, the poller fetches the configuration again in full next time.
      if (!membership) throw new Error('the DNS proxy does not run');
      if (membership.update(config)) {
        clock.clearTimeout(gateTimer);
        gate?.open();
      }
    },

    setNames(records) {
      membership?.setNames(records);
    },

    metricsText() {
      return membership ? prometheusText(membership.metrics.collect()) : '';
    },

    async start({ logger, readiness }: ComponentContext): Promise<Running> {
      // Per dataplane: a dataplane is not ready before its own first /dns, whatever the others got.
      if (options.waitForRecords && !gate) {
        gate = readiness.gate('dns-records');
        gateTimer = clock.setTimeout(() => {
          logger.warn({ waitedMs: FIRST_RECORDS_WAIT_MS }, 'no DNS configuration from kuma-cp yet; ready anyway, mesh names will not resolve until it comes');
          gate?.open();
        }, FIRST_RECORDS_WAIT_MS);
      }
      try {
        membership = await options.proxies.join(options.id, options.addresses);
      } catch (error) {
        clock.clearTimeout(gateTimer);
        throw error;
      }
      const joined = membership;
      return {
        stop: async () => {
          clock.clearTimeout(gateTimer);
          membership = undefined;
          await joined.leave();
        },
      };
    },
  };
}

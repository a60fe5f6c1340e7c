import { performance } from 'node:perf_hooks';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Component, ComponentContext, Running } from '../runtime/component.js';
import type { Gate } from '../runtime/readiness.js';
import { decide, rcodeOf, serverFailure, type DecodedQuery, type QueryType, type Transport } from './answer.js';
import { exchange, UPSTREAM_TIMEOUT_MS } from './forwarder.js';
import { DnsMetrics } from './metrics.js';
import { parseDnsConfig, RecordTable, type NameRecord } from './records.js';
import { ResolvConf } from './resolv-conf.js';
import { listen, type ListenAddress, type Listeners } from './server.js';

/** Go kuma-dp's readiness gate on the first `/dns` configuration: after this, ready anyway. */
export const FIRST_RECORDS_WAIT_MS = 15_000;
/** TTL of the names this agent derives itself, as kuma-cp's `/dns` gives its own. */
export const DERIVED_NAMES_TTL = 30;
/** kuma-cp's feature string: with it, a 2.11–2.14 kuma-cp sends `/dns` instead of giving Envoy a DNS listener on our port. */
export const FEATURE_EMBEDDED_DNS = 'feature-embedded-dns';

// Queries in flight upstream at once; beyond, SERVFAIL at once rather than unbounded sockets.
const MAX_FORWARDS = 1024;
// Answers to repeated identical questions (same bytes but for the id) are kept, so that a mesh
// name costs no decoding after its first query. Cleared when the names change.
const MAX_CACHED_ANSWERS = 4096;

export interface DnsProxyOptions {
  readonly addresses: readonly ListenAddress[];
  /** Hold readiness back until kuma-cp's first `/dns` configuration (it sends one when DNS is redirected). */
  readonly waitForRecords: boolean;
  readonly clock: Clock;
  /** Where the upstream nameserver is read from (tests use their own file). */
  readonly resolvConf?: string;
  readonly upstreamTimeoutMs?: number;
}

/** The embedded DNS proxy: mesh names answered here, everything else forwarded. */
export interface DnsProxy extends Component {
  /** Consumer of kuma-cp's `/dns` dynamic configuration (the parsed JSON); throws when it is malformed. */
  update(config: unknown): void;
  /** The names this agent derives itself (bind-outbounds), answered beside kuma-cp's. */
  setNames(records: readonly NameRecord[]): void;
  readonly metrics: DnsMetrics;
  /** Where it listens while it runs. */
  readonly listening: readonly ListenAddress[];
}

interface CachedAnswer {
  readonly response: Buffer;
  readonly qtype: QueryType;
}

export function createDnsProxy(options: DnsProxyOptions): DnsProxy {
  const { clock } = options;
  const createdAt = clock.now();
  const metrics = new DnsMetrics();
  const resolvConf = new ResolvConf(options.resolvConf);
  const timeoutMs = options.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS;
  let logger: Logger | undefined;
  let fromControlPlane = RecordTable.empty;
  let derived = RecordTable.empty;
  let table = RecordTable.empty;
  let configured = false;
  let gate: Gate | undefined;
  let gateTimer: unknown;
  let cache = new Map<string, CachedAnswer>();
  let forwards = 0;
  let noUpstreamLogged = false;
  let listeners: Listeners | undefined;

  const rebuild = () => {
    table = fromControlPlane.merge(derived);
    cache = new Map();
    metrics.configured(table.size);
  };

  const openGate = () => {
    clock.clearTimeout(gateTimer);
    gate?.open();
  };

  const finish = (qtype: QueryType, source: 'local' | 'upstream', response: Buffer, started: number) => {
    metrics.query(qtype, source, rcodeOf(response), (performance.now() - started) / 1000);
    return response;
  };

  const forward = async (query: Buffer, decoded: DecodedQuery, qtype: QueryType, started: number): Promise<Buffer> => {
    if (forwards >= MAX_FORWARDS) return finish(qtype, 'upstream', serverFailure(decoded), started);
    forwards += 1;
    const upstreamStarted = performance.now();
    let failed = false;
    try {
      const upstream = await resolvConf.current();
      if (!upstream) {
        if (!noUpstreamLogged) logger?.warn({ resolvConf: resolvConf.path }, 'no nameserver in resolv.conf: names outside the mesh get SERVFAIL');
        noUpstreamLogged = true;
        throw new Error('no upstream nameserver');
      }
      noUpstreamLogged = false;
      return finish(qtype, 'upstream', await exchange(query, upstream, timeoutMs), started);
    } catch (error) {
      failed = true;
      logger?.debug({ err: (error as Error).message }, 'DNS query failed upstream; answering SERVFAIL');
      return finish(qtype, 'upstream', serverFailure(decoded), started);
    } finally {
      forwards -= 1;
      metrics.upstream((performance.now() - upstreamStarted) / 1000, failed);
    }
  };

  const handle = (query: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> => {
    const started = performance.now();
    try {
      const key = query.length > 2 ? `${transport}${query.toString('latin1', 2)}` : '';
      const cached = cache.get(key);
      if (cached) {
        const response = Buffer.from(cached.response);
        query.copy(response, 0, 0, 2);
        return finish(cached.qtype, 'local', response, started);
      }
      const decision = decide(query, table, transport);
      switch (decision.kind) {
        case 'drop':
          return undefined;
        case 'refuse':
          return decision.response;
        case 'local':
          if (cache.size >= MAX_CACHED_ANSWERS) cache.clear();
          cache.set(key, { response: decision.response, qtype: decision.qtype });
          return finish(decision.qtype, 'local', decision.response, started);
        case 'forward':
          return forward(query, decision.query, decision.qtype, started);
      }
    } catch (error) {
      // A bug must cost one query, never the agent.
      logger?.error({ err: (error as Error).message }, 'DNS proxy failed to handle a query');
      return undefined;
    }
  };

  return {
    name: 'dns-proxy',
    features: [FEATURE_EMBEDDED_DNS],
    metrics,
    get listening() {
      return listeners?.bound ?? [];
    },

    update(value) {
      const config = parseDnsConfig(value);
      const { table: parsed, invalid } = RecordTable.of(config.records, config.ttl);
      if (invalid.length > 0) logger?.warn({ invalid }, 'kuma-cp sent DNS records with addresses that are not IPs; skipping them');
      metrics.setConstLabels(config.extraLabels);
      fromControlPlane = parsed;
      rebuild();
      if (!configured) {
        configured = true;
        metrics.configured(table.size, (clock.now() - createdAt) / 1000);
        logger?.info({ names: parsed.size }, 'DNS proxy received its first configuration');
        openGate();
      }
    },

    setNames(records) {
      derived = RecordTable.of(records, DERIVED_NAMES_TTL).table;
      rebuild();
    },

    async start(context: ComponentContext): Promise<Running> {
      logger = context.logger;
      if (options.waitForRecords && !configured && !gate) {
        gate = context.readiness.gate('dns-records');
        gateTimer = clock.setTimeout(() => {
          logger?.warn({ waitedMs: FIRST_RECORDS_WAIT_MS }, 'no DNS configuration from kuma-cp yet; ready anyway, mesh names will not resolve until it comes');
          gate?.open();
        }, FIRST_RECORDS_WAIT_MS);
      }
      listeners = await listen(options.addresses, handle, context.logger).catch((error: unknown) => {
        clock.clearTimeout(gateTimer);
        throw error;
      });
      context.logger.info({ addresses: listeners.bound.map((a) => `${a.host}:${a.port}`), resolvConf: resolvConf.path }, 'DNS proxy listening');
      const running = listeners;
      return {
        stop: async () => {
          clock.clearTimeout(gateTimer);
          await running.close();
        },
      };
    },
  };
}

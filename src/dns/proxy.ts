import { performance } from 'node:perf_hooks';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import { decide, rcodeOf, serverFailure, type DecodedQuery, type QueryType, type Transport } from './answer.js';
import { exchange, UPSTREAM_TIMEOUT_MS } from './forwarder.js';
import { DnsMetrics } from './metrics.js';
import { parseDnsConfig, RecordTable, type NameRecord } from './records.js';
import { ResolvConf } from './resolv-conf.js';
import { listen, type ListenAddress, type Listeners } from './server.js';

/** TTL of the names this agent derives itself, as kuma-cp's `/dns` gives its own. */
export const DERIVED_NAMES_TTL = 30;

// Queries in flight upstream at once; beyond, SERVFAIL at once rather than unbounded sockets.
const MAX_FORWARDS = 1024;
// Answers to repeated identical questions (same bytes but for the id) are kept, so that a mesh
// name costs no decoding after its first query. Cleared when the names change.
const MAX_CACHED_ANSWERS = 4096;

export interface DnsProxyOptions {
  readonly addresses: readonly ListenAddress[];
  readonly clock: Clock;
  /** Where the upstream nameserver is read from (tests use their own file). */
  readonly resolvConf?: string;
  readonly upstreamTimeoutMs?: number;
}

/**
 * The embedded DNS proxy: mesh names answered here, everything else forwarded. One serves every
 * dataplane of the process (a fleet's too): each dataplane is a member with its own records, and
 * the proxy answers the union of them all.
 */
export interface DnsProxy {
  /** Binds the addresses; rejects, holding nothing, when one cannot be bound. */
  listen(logger: Logger): Promise<void>;
  close(): Promise<void>;
  /** A dataplane's records, answered beside the other members' until it is removed. */
  member(id: string): DnsMember;
  readonly metrics: DnsMetrics;
  /** Where it listens while it runs. */
  readonly listening: readonly ListenAddress[];
}

/** One dataplane's share of the proxy's names. */
export interface DnsMember {
  /**
   * Consumer of kuma-cp's `/dns` dynamic configuration (the parsed JSON); throws when it is
   * malformed. Returns true for this member's first configuration.
   */
  update(config: unknown): boolean;
  /** The names this agent derives itself (bind-outbounds), answered beside kuma-cp's. */
  setNames(records: readonly NameRecord[]): void;
  /** Its names are answered no more. */
  remove(): void;
}

interface MemberRecords {
  fromControlPlane: RecordTable;
  derived: RecordTable;
}

interface CachedAnswer {
  readonly response: Buffer;
  readonly qtype: QueryType;
}

export function createDnsProxy(options: DnsProxyOptions): DnsProxy {
  const { clock } = options;
  const metrics = new DnsMetrics();
  const resolvConf = new ResolvConf(options.resolvConf);
  const timeoutMs = options.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS;
  let logger: Logger | undefined;
  const members = new Map<string, MemberRecords>();
  let table = RecordTable.empty;
  let cache = new Map<string, CachedAnswer>();
  let forwards = 0;
  let noUpstreamLogged = false;
  let listeners: Listeners | undefined;

  const rebuild = () => {
    table = [...members.values()].reduce((all, member) => all.merge(member.fromControlPlane).merge(member.derived), RecordTable.empty);
    cache = new Map();
    metrics.configured(table.size);
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
    metrics,
    get listening() {
      return listeners?.bound ?? [];
    },

    async listen(log) {
      logger = log;
      listeners = await listen(options.addresses, handle, log);
      log.info({ addresses: listeners.bound.map((a) => `${a.host}:${a.port}`), resolvConf: resolvConf.path }, 'DNS proxy listening');
    },

    async close() {
      await listeners?.close();
      listeners = undefined;
    },

    member(id) {
      if (members.has(id)) throw new Error(`the DNS proxy answers for ${id} already`);
      const records: MemberRecords = { fromControlPlane: RecordTable.empty, derived: RecordTable.empty };
      members.set(id, records);
      const joinedAt = clock.now();
      let configured = false;
      return {
        update(value) {
          const config = parseDnsConfig(value);
          const { table: parsed, invalid } = RecordTable.of(config.records, config.ttl);
          if (invalid.length > 0) logger?.warn({ dataplane: id, invalid }, 'kuma-cp sent DNS records with addresses that are not IPs; skipping them');
          metrics.setConstLabels(config.extraLabels);
          records.fromControlPlane = parsed;
          if (members.get(id) === records) rebuild();
          if (configured) return false;
          configured = true;
          metrics.configured(table.size, (clock.now() - joinedAt) / 1000);
          logger?.info({ dataplane: id, names: parsed.size }, 'DNS proxy received its first configuration');
          return true;
        },
        setNames(names) {
          records.derived = RecordTable.of(names, DERIVED_NAMES_TTL).table;
          if (members.get(id) === records) rebuild();
        },
        remove() {
          if (members.get(id) !== records) return;
          members.delete(id);
          rebuild();
        },
      };
    },
  };
}

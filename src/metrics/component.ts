import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AdminAddress } from '../bootstrap/admin-address.js';
import type { AggregateApp } from '../bootstrap/response.js';
import type { Logger } from '../logging/logger.js';
import { Throttle } from '../logging/throttle.js';
import { realClock, type Clock } from '../runtime/clock.js';
import type { Component } from '../runtime/component.js';
import { CONTENT_TYPES } from './content-type.js';
import { KNOWN_BOOTSTRAP_CLUSTERS } from './merge.js';
import type { MeshMetricConfig } from './mesh-metric-config.js';
import type { Family } from './model.js';
import { profileFilter } from './profiles.js';
import { BufferPool, type Lease } from './buffer-pool.js';
import { EnvoyRewriter } from './rewrite-plan.js';
import { meshMetricScrape, mergedScrape, type Sources } from './scrape.js';
import { Scraper, type ScrapeTarget } from './scraper.js';
import { envoyMeshMetricQuery, envoyStatsQuery } from './scrape-url.js';
import { claimSocketPath, listenOnSocket, removeSocket } from './socket-file.js';
import { applicationTarget, envoyTarget } from './targets.js';

export const MESH_METRIC_PATH = '/meshmetric';
/** Prometheus's default scrape timeout, when the scraper sends none. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;
/** No scraper's header may hold a scrape (and its sockets) longer than this. */
const MAX_SCRAPE_TIMEOUT_MS = 120_000;
/** Scrapes served at once; more are answered 503 (a few Prometheus servers scrape one dataplane). */
const MAX_CONCURRENT_SCRAPES = 8;
/** A failing source is logged at most this often. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;
/** Headers of the scraper passed on to every source of the merged scrape, as Kuma does. */
const PASSED_HEADERS = ['accept', 'user-agent', 'x-prometheus-scrape-timeout-seconds'] as const;

export interface MetricsSocketOptions {
  /** The unix socket Envoy's Prometheus listener routes to (metricsSocketPath()). */
  readonly socketPath: string;
  /** Envoy's admin address as the agent enforces it; undefined until Envoy's bootstrap is known. */
  readonly envoyAdmin: () => AdminAddress | undefined;
  /** The bootstrap response's `kumaSidecarConfiguration.metrics.aggregate`. */
  readonly applications: () => readonly AggregateApp[];
  /** The latest `/meshmetric` dynamic configuration, if kuma-cp sent one. */
  readonly meshMetricConfig: () => MeshMetricConfig | undefined;
  /** The dataplane's address (`networking.address`): MeshMetric applications without one are there. */
  readonly defaultAddress?: () => string | undefined;
  /** The bootstrap's own clusters, not mesh traffic; default: the names Kuma has used for them. */
  readonly bootstrapClusters?: () => ReadonlySet<string> | undefined;
  /** The agent's own metrics, as Prometheus text. */
  readonly ownMetrics?: () => Promise<string>;
  readonly clock?: Clock;
}

/** The scrape bound from Prometheus's `x-prometheus-scrape-timeout-seconds`. */
function scrapeTimeoutMs(header: string | undefined): number {
  const seconds = header === undefined ? NaN : Number(header);
  if (!Number.isFinite(seconds) || seconds <= 0) return DEFAULT_SCRAPE_TIMEOUT_MS;
  return Math.min(seconds * 1000, MAX_SCRAPE_TIMEOUT_MS);
}

/**
 * The metrics socket: HTTP/1.1 on a unix socket, `/meshmetric*` for MeshMetric and any other path
 * for the merged scrape (see README, Metrics). Refuses to start when another process serves the
 * socket; replaces a stale one; removes it on stop.
 */
export function createMetricsSocket(options: MetricsSocketOptions): Component {
  return {
    name: 'metrics-socket',
    start: async ({ logger }) => {
      await claimSocketPath(options.socketPath);
      const handler = new ScrapeHandler(options, logger);
      const server = http.createServer({ requestTimeout: MAX_SCRAPE_TIMEOUT_MS + 10_000, headersTimeout: 10_000 }, (req, res) => {
        handler.handle(req, res).catch((error: Error) => {
          logger.error({ event: 'metrics-scrape-failed', err: error.message, path: req.url }, 'metrics scrape failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end();
        });
      });
      const bound = await listenOnSocket(server, options.socketPath);
      logger.info({ event: 'metrics-serving', socket: options.socketPath }, 'serving metrics');
      const ended = new Promise<void>((_, reject) => server.once('error', reject));
      ended.catch(() => {});
      return {
        ended,
        stop: async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
          removeSocket(options.socketPath, bound);
          await handler.close();
        },
      };
    },
  };
}

class ScrapeHandler {
  private readonly scraper = new Scraper();
  /** Envoy's answer and its rewrite, a megabyte each for a large Envoy, in buffers kept from scrape to scrape. */
  private readonly buffers = new BufferPool();
  /** Envoy's lines are the same scrape after scrape: the rewrite is compiled once. */
  private readonly rewriter = new EnvoyRewriter();
  private readonly throttle: Throttle;
  private inFlight = 0;

  constructor(
    private readonly options: MetricsSocketOptions,
    private readonly logger: Logger,
  ) {
    const clock = options.clock ?? realClock;
    this.throttle = new Throttle(FAILURE_LOG_INTERVAL_MS, () => clock.now());
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
      return;
    }
    if (this.inFlight >= MAX_CONCURRENT_SCRAPES) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }).end('too many scrapes at once\n');
      return;
    }
    this.inFlight++;
    const lease = this.buffers.lease();
    const closed = new Promise((resolve) => res.once('close', resolve));
    try {
      const url = new URL(req.url ?? '/', 'http://metrics');
      const timeoutMs = scrapeTimeoutMs(header(req, 'x-prometheus-scrape-timeout-seconds'));
      const { parts, contentType } = url.pathname.startsWith(MESH_METRIC_PATH) ? await this.meshMetric(timeoutMs) : await this.merged(req, url, timeoutMs, lease);
      res.writeHead(200, { 'content-type': contentType, 'content-length': parts.reduce((sum, part) => sum + part.length, 0) });
      if (req.method !== 'HEAD') {
        res.cork();
        for (const part of parts) res.write(part);
      }
      res.end();
    } finally {
      this.inFlight--;
      // The buffers go back once the answer is written (its pieces may be them) and no read still fills one (a
      // scraper that hung up early does not end the reads of Envoy).
      void closed.then(() => lease.release());
    }
  }

  private sources(applications: readonly ScrapeTarget[], envoy: ScrapeTarget | undefined, headers: Record<string, string>, timeoutMs: number, lease?: Lease): Sources {
    this.scraper.retainSockets(new Set(envoy?.socketPath === undefined ? [] : [envoy.socketPath]));
    return {
      applications,
      envoy,
      fetch: (target, progress) => this.scraper.scrape(target, headers, timeoutMs, target === envoy ? lease : undefined, progress),
      own: this.options.ownMetrics,
      failed: (target, error) => {
        this.throttle.warn(this.logger, `${target.name} ${target.socketPath ?? ''} ${target.url.split('?')[0]}`, { event: 'metrics-source-failed', source: target.name, err: error.message },
          'a metrics source contributes nothing to this scrape (logged at most once a minute per source)');
      },
    };
  }

  private async merged(req: IncomingMessage, url: URL, timeoutMs: number, lease: Lease): Promise<{ parts: Buffer[]; contentType: string }> {
    const headers: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const value = header(req, name);
      if (value) headers[name] = value;
    }
    const admin = this.options.envoyAdmin();
    const sources = this.sources(
      this.options.applications().map((app) => applicationTarget(app)),
      admin && envoyTarget(admin, envoyStatsQuery(url.search)),
      headers,
      timeoutMs,
      lease,
    );
    return mergedScrape(sources, this.options.bootstrapClusters?.() ?? KNOWN_BOOTSTRAP_CLUSTERS, this.rewriter, lease);
  }

  private async meshMetric(timeoutMs: number): Promise<{ parts: Buffer[]; contentType: string }> {
    const config = this.options.meshMetricConfig();
    const admin = this.options.envoyAdmin();
    // Before kuma-cp sends a MeshMetric configuration, Kuma serves the aggregate applications and all of Envoy.
    const applications = config
      ? config.applications.map((app) => applicationTarget(app, this.options.defaultAddress?.()))
      : this.options.applications().map((app) => applicationTarget(app));
    const query = config ? envoyMeshMetricQuery(config.sidecar?.includeUnused ?? false) : envoyStatsQuery('');
    const sources = this.sources(applications, admin && envoyTarget(admin, query), {}, timeoutMs);
    const profiles = config ? profileFilter(config.sidecar) : (families: readonly Family[]) => [...families];
    const body = await meshMetricScrape(sources, profiles, config?.extraLabels ?? {});
    return { parts: [Buffer.from(body)], contentType: CONTENT_TYPES.text };
  }

  close(): Promise<void> {
    return this.scraper.close();
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

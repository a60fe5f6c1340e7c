import { existsSync } from 'node:fs';
import { BodyTooLarge, readBody } from '../http/body.js';
import { deadline, errorCode, keepAliveAgent, request, type HttpAnswer } from '../http/client.js';
import { repeat } from '../runtime/repeat.js';
import { Throttle } from '../logging/throttle.js';
import { realClock, type Clock } from '../runtime/clock.js';
import type { Component } from '../runtime/component.js';

/** Handles one path's configuration; a throw means it was not taken, and it is fetched again in full. */
export type Consumer = (json: unknown) => void | Promise<void>;

export interface DynamicConfigPoller extends Component {
  /** Polls `path` (e.g. `/meshmetric`, `/dns`) and hands each new configuration to the consumer. */
  register(path: string, consumer: Consumer): void;
}

export interface PollerOptions {
  /** Where Envoy serves kuma-cp's dynamic configuration (dynamicConfigSocketPath()). */
  readonly socketPath: string;
  readonly intervalMs: number;
  readonly clock?: Clock;
  readonly maxBodyBytes?: number;
}

/** kuma-cp's configurations are small (DNS records of a large mesh stay far below this). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** A failing path is logged at most this often. */
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** The most one request may take, whatever the interval. */
const MAX_REQUEST_MS = 5_000;

interface Route {
  readonly path: string;
  readonly consumer: Consumer;
  etag?: string;
}

/**
 * Go kuma-dp's config fetcher: every interval, each registered path in turn is fetched from the
 * socket with `If-None-Match` of its last `Etag`. 200 hands the JSON to its consumer (the Etag is
 * kept only when the consumer took it); 304 changes nothing; 404 keeps the last configuration
 * but forgets the Etag; a missing socket or a refused connection (Envoy not up, or no route yet)
 * is skipped quietly.
 */
export function createDynamicConfigPoller(options: PollerOptions): DynamicConfigPoller {
  const routes: Route[] = [];
  const clock = options.clock ?? realClock;
  const timeoutMs = Math.min(Math.max(options.intervalMs, 1000), MAX_REQUEST_MS);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_CONFIG_BYTES;

  return {
    name: 'dynamic-configuration',
    resilient: true,
    register(path, consumer) {
      if (!path.startsWith('/')) throw new Error(`dynamic configuration path ${path} must start with /`);
      if (routes.some((route) => route.path === path)) throw new Error(`dynamic configuration path ${path} is registered twice`);
      routes.push({ path, consumer });
    },
    start: async ({ logger }) => {
      // Nothing asked for dynamic configuration (metrics and DNS off): nothing to poll.
      if (routes.length === 0) return { stop: async () => {} };
      // One connection, kept alive: the paths are polled one after another, and a request sent
      // while the last answer's body is still being drained waits for it rather than connecting.
      const agent = keepAliveAgent({ maxSockets: 1 });
      const throttle = new Throttle(FAILURE_LOG_INTERVAL_MS, () => clock.now());
      const failed = (route: Route, message: string) => {
        if (throttle.allow(route.path)) logger.warn({ event: 'dynconf-failed', path: route.path, err: message }, 'cannot take the dynamic configuration (logged at most once a minute per path)');
      };

      const pollRoute = async (route: Route) => {
        let answer: HttpAnswer;
        const bound = deadline(timeoutMs);
        try {
          answer = await request(`http://localhost${route.path}`, {
            agent,
            socketPath: options.socketPath,
            headers: route.etag ? { 'if-none-match': route.etag } : {},
            signal: bound.signal,
          });
        } catch (error) {
          bound.clear();
          const code = errorCode(error);
          if (code === 'ENOENT' || code === 'ECONNREFUSED') {
            logger.debug({ event: 'dynconf-unavailable', path: route.path, code }, 'no dynamic configuration socket to poll yet');
            return;
          }
          failed(route, code);
          return;
        }
        // A body the deadline cuts off emits an error nobody else listens for.
        answer.body.on('error', () => {});
        // The deadline bounds the body too, read or drained, until it is done.
        answer.body.once('close', bound.clear);
        const previous = route.etag;
        route.etag = undefined;
        try {
          if (answer.statusCode === 304) {
            route.etag = previous;
            return;
          }
          if (answer.statusCode === 404) {
            logger.debug({ event: 'dynconf-not-found', path: route.path }, 'no dynamic configuration for this path; keeping the last one');
            return;
          }
          if (answer.statusCode !== 200) {
            failed(route, `Envoy answered ${answer.statusCode}`);
            return;
          }
          const etag = answer.headers.etag;
          const text = await readBody(answer, maxBodyBytes).catch((error: Error) => {
            throw error instanceof BodyTooLarge ? new Error(`configuration ${error.message}`) : error;
          });
          const json: unknown = JSON.parse(text);
          await route.consumer(json);
          route.etag = Array.isArray(etag) ? etag[0] : etag;
          throttle.reset(route.path);
          logger.info({ event: 'dynconf-changed', path: route.path, etag: route.etag }, 'dynamic configuration changed');
        } catch (error) {
          failed(route, (error as Error).message);
        } finally {
          // A body left unread (304, 404) is drained, within the deadline, so that the connection
          // goes back to the pool: destroyed, the next poll would have to connect again.
          answer.body.resume();
        }
      };

      logger.info({ event: 'dynconf-polling', socket: options.socketPath, paths: routes.map((route) => route.path), intervalMs: options.intervalMs }, 'polling the dynamic configuration');
      const polling = repeat(
        clock,
        options.intervalMs,
        async () => {
          // Until Envoy serves the socket (or when kuma-cp gives it none), a stat a second is all
          // the poll costs: a refused request would build an error for every route every second.
          if (!existsSync(options.socketPath)) return;
          for (const route of routes) {
            if (polling.stopped) return;
            await pollRoute(route);
          }
        },
        { now: true },
      );
      return {
        stop: async () => {
          await polling.stop();
          agent.destroy();
        },
      };
    },
  };
}

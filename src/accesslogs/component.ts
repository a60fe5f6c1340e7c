import type { Clock } from '../runtime/clock.js';
import type { Component, Running } from '../runtime/component.js';
import { openFifo, removeFifo, replaceWithFifo } from './fifo.js';
import { BackendPool } from './pool.js';
import { PipeReader } from './reader.js';
import { AccessLogStats } from './stats.js';

/** What kuma-cp needs to hear before it points Envoy's TCP access logs at the pipe. */
export const ACCESS_LOG_FEATURE = 'feature-tcp-accesslog-via-named-pipe';
/** On stop, how long lines may still take to reach their backends. */
const STOP_FLUSH_MS = 1_000;

export interface AccessLogStreamerOptions {
  /** The FIFO Envoy writes into: `accessLogPipePath(workDir, name, mesh)`. */
  readonly pipePath: string;
  /** Per backend, the most bytes of lines kept while it is down or slow. */
  readonly bufferBytes: number;
  readonly clock: Clock;
  /** Counts for metrics; one is made when none is given. */
  readonly stats?: AccessLogStats;
}

export interface AccessLogComponent extends Component {
  readonly stats: AccessLogStats;
}

/**
 * The access-log streamer: Envoy's file access logger writes one entry per line into a FIFO that
 * this component makes and reads, and each entry goes to the TCP log collector it names. It is
 * resilient: if it fails, the rest of the dataplane goes on while it is restarted.
 */
export function accessLogStreamer(options: AccessLogStreamerOptions): AccessLogComponent {
  const { pipePath, bufferBytes, clock } = options;
  const stats = options.stats ?? new AccessLogStats();
  return {
    name: 'access-logs',
    features: [ACCESS_LOG_FEATURE],
    resilient: true,
    stats,
    async start({ logger }): Promise<Running> {
      await replaceWithFifo(pipePath);
      const pipe = await openFifo(pipePath);
      const pool = new BackendPool({ bufferBytes, clock, logger, stats });
      const reader = new PipeReader(pipe, pool, stats, logger, clock);
      logger.info({ event: 'access-log-pipe-open', path: pipePath }, 'streaming access logs from the pipe');

      let stopping: Promise<void> | undefined;
      const ended = reader.closed.then(async (error) => {
        if (stopping) return stopping;
        await removeFifo(pipePath, pipe);
        pool.close();
        throw error;
      });
      // Only the manager looks at how it ended; this keeps the rejection from counting as unhandled.
      ended.catch(() => undefined);
      return {
        ended,
        stop: () =>
          (stopping ??= (async () => {
            reader.finish();
            await removeFifo(pipePath, pipe);
            await pool.drain(STOP_FLUSH_MS);
          })()),
      };
    },
  };
}


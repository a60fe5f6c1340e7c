// The access-log streamer alone in its own process, for `npm run bench`: as in the agent, apart
// from the process writing into the pipe and from the collector. Prints `ready` once the pipe is
// open; on SIGTERM stops (flushing) and prints its stats and the CPU time since `ready` as JSON.
import { accessLogStreamer } from '../../src/accesslogs/component.js';
import { createLogger } from '../../src/logging/logger.js';
import { realClock } from '../../src/runtime/clock.js';
import { ReadinessGates } from '../../src/runtime/readiness.js';

const [pipePath, bufferBytes] = process.argv.slice(2);
const streamer = accessLogStreamer({ pipePath: pipePath!, bufferBytes: Number(bufferBytes), clock: realClock });
const running = await streamer.start({
  logger: createLogger({ level: 'warn', base: {}, pretty: false }),
  readiness: new ReadinessGates(),
});
const ready = process.cpuUsage();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void running.stop().then(() => {
    const used = process.cpuUsage(ready);
    process.stdout.write(`${JSON.stringify({ ...streamer.stats, cpuMs: (used.user + used.system) / 1000 })}\n`);
    process.exit(0);
  });
});

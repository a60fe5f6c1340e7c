import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../config/duration.js';
import { UserError } from '../errors.js';
import { loadWaitConfig } from '../config/wait-config.js';
import { httpProbe, waitUntilReady } from '../readiness/wait.js';

/**
 * `kuma-dp wait`: blocks until the dataplane's readiness endpoint answers 200, so that a start
 * script or an ExecStartPre= can hold an application back until its sidecar has configuration.
 */
export async function wait(flags: Readonly<Record<string, unknown>>): Promise<void> {
  const config = loadWaitConfig(flags);
  const target = config.unixSocket === undefined ? config.url.href : `${config.url.href} via ${config.unixSocket}`;
  const { probe, close } = httpProbe(config);
  try {
    const outcome = await waitUntilReady({
      probe,
      timeoutMs: config.timeoutMs,
      checkFrequencyMs: config.checkFrequencyMs,
      clock: { now: () => Date.now(), sleep: (ms) => sleep(ms) },
    });
    if (!outcome.ready) {
      throw new UserError(`the dataplane was not ready within ${formatDuration(config.timeoutMs)}: ${target} last answered ${outcome.last}`);
    }
    process.stderr.write(`kuma-dp: the dataplane is ready (${target})\n`);
  } finally {
    await close();
  }
}

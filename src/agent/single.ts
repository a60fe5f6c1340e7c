import type { DataplaneSpec } from '../dataplane/dataplane.js';
import { Agent } from './agent.js';
import type { CapturedSignals } from './signals.js';

/** `kuma-dp run`: one dataplane, until it stops; resolves with the code the process should exit with. */
export async function runSingle(spec: DataplaneSpec, options: { readonly stderrIsTTY: boolean; readonly signals: CapturedSignals }): Promise<number> {
  const { config, env } = spec;
  const { mesh, name } = config.dataplane;
  const agent = await Agent.start({
    readinessPort: config.readinessPort,
    ...(config.logOutput && { logOutput: config.logOutput }),
    logLevel: config.logLevel,
    stderrIsTTY: options.stderrIsTTY,
    env,
    logBase: { mesh, name },
  });
  try {
    const member = await agent.add(`${mesh}/${name}`, spec, { logger: agent.logger });
    options.signals.deliverTo((signal) => member.dataplane.signal(signal));
    const code = await member.done;
    agent.logger.info({ event: 'agent-stopped', exitCode: code }, 'kuma-dp stopped');
    return code;
  } finally {
    // systemd must still get the last notifications (STOPPING=1, the final STATUS=) before we go.
    await agent.close();
  }
}

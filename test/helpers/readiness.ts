import { after } from 'node:test';
import { freePort, startControlPlane, type ControlPlane } from '../../stand-ins/control-plane.js';
import { agentEnv, startAgent, tempDir, type Agent } from './agent.js';

/** What the readiness endpoint answers right now: "200 READY", "503 NOT_READY", or "down". */
export async function readinessAnswer(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) });
    return `${res.status} ${await res.text()}`;
  } catch {
    return 'down';
  }
}

/**
 * Polls the endpoint every 20 ms and keeps each change, so that a test can assert the whole
 * sequence a probe would have seen rather than race single samples.
 */
export function recordReadiness(port: number): { changes: string[]; stop(): void } {
  const changes: string[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const answer = await readinessAnswer(port);
      if (changes.at(-1) !== answer) changes.push(answer);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const stop = () => {
    stopped = true;
  };
  after(stop);
  return { changes, stop };
}

export interface Dataplane {
  readonly agent: Agent;
  readonly cp: ControlPlane;
  readonly readinessPort: number;
  readonly adminPort: number;
}

/** A fake control plane and an agent serving readiness on a free port, both cleaned up after the file. */
export async function startDataplane(args: readonly string[] = [], env: Record<string, string> = {}): Promise<Dataplane> {
  const cp = await startControlPlane({ generation: 'modern' });
  after(() => cp.close());
  const readinessPort = await freePort();
  const adminPort = await freePort();
  const agent = startAgent(['run', '--admin-port', String(adminPort), ...args], {
    env: agentEnv({
      KUMA_CONTROL_PLANE_URL: cp.url,
      KUMA_DATAPLANE_NAME: 'ratings-v1',
      KUMA_DATAPLANE_MESH: 'bookinfo',
      KUMA_READINESS_PORT: String(readinessPort),
      FAKE_ENVOY_RECORD_DIR: tempDir(),
      ...env,
    }),
  });
  return { agent, cp, readinessPort, adminPort };
}

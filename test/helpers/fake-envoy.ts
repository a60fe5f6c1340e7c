import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import type { AdminAddress } from '../../src/bootstrap/admin-address.js';
import { freePort } from '../../stand-ins/control-plane.js';
import { fakeEnvoyBin } from '../../stand-ins/paths.js';
import { writeScenario, type Scenario } from '../../stand-ins/scenario.js';
import { waitUntil } from './agent.js';
import { unixGet } from './unix-http.js';

export interface FakeEnvoy {
  readonly pid: number;
  readonly admin: AdminAddress;
  /** Its work dir: the bootstrap, the records and the scenario are there, and the dynamic configuration socket. */
  readonly dir: string;
  readonly scenarioPath: string;
  /** Kills it (SIGKILL: like a crash, it leaves its sockets behind) and waits for its end. */
  kill(): Promise<void>;
}

/**
 * The fake Envoy on its own, without an agent: a bootstrap with kuma-cp's two static clusters
 * and the admin on a TCP port or on a unix socket in dir; resolves once its admin answers (and
 * its dynamic configuration socket exists, when the scenario has one).
 */
export async function startFakeEnvoy(dir: string, options: { pipe?: boolean; scenario?: Scenario } = {}): Promise<FakeEnvoy> {
  const admin: AdminAddress = options.pipe ? { kind: 'pipe', path: path.join(dir, 'admin.sock') } : { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
  const address = admin.kind === 'pipe' ? `pipe: {path: ${admin.path}}` : `socketAddress: {address: 127.0.0.1, portValue: ${admin.port}}`;
  const config = path.join(dir, 'bootstrap.yaml');
  writeFileSync(config, `admin:\n  address: {${address}}\nstaticResources:\n  clusters:\n  - name: system_ads\n  - name: system_access_log_sink\n`);
  const scenarioPath = path.join(dir, 'scenario.json');
  writeScenario(scenarioPath, options.scenario ?? {});
  const child = spawn(fakeEnvoyBin, ['--config-path', config, '--disable-hot-restart'], {
    env: { ...process.env, FAKE_ENVOY_RECORD_DIR: dir, FAKE_ENVOY_SCENARIO: scenarioPath },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  after(() => {
    child.kill('SIGKILL');
    return exited;
  });
  const ready = () =>
    (admin.kind === 'pipe' ? unixGet(admin.path, '/ready') : fetch(`http://127.0.0.1:${admin.port}/ready`)).then(
      () => true,
      () => false,
    );
  await waitUntil(ready, 15_000, 'the fake Envoy to answer');
  if (options.scenario?.dynamicConfig) await waitUntil(() => existsSync(path.join(dir, 'kuma-mesh-metric-config.sock')), 15_000, 'its dynamic configuration socket');
  return {
    pid: child.pid!,
    admin,
    dir,
    scenarioPath,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

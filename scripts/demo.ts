import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOKINFO, startDevControlPlane } from './dev-control-plane.js';
import { tryListen } from '../src/envoy/admin-port.js';
import { findOnPath } from '../src/process/lookup.js';
import { freePort } from '../stand-ins/control-plane.js';

/**
 * `npm run demo`: a dev control plane serving the bookinfo dataplanes, and kuma-dp running
 * ratings-v1 against it, with Envoy from PATH or, when none is installed, the test stand-in.
 * Ctrl-C stops it; DEMO_SECONDS=N stops it after N seconds. Exits non-zero if the dataplane did
 * not come up or kuma-dp did not stop cleanly.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (text: string) => process.stdout.write(`demo: ${text}\n`);

async function pickPort(preferred: number): Promise<number> {
  if (!(await tryListen('127.0.0.1', preferred))) return preferred;
  const port = await freePort();
  say(`port ${preferred} is taken; using ${port} instead`);
  return port;
}

async function main(): Promise<number> {
  const cp = await startDevControlPlane(await pickPort(5682));
  say(`dev control plane on ${cp.url}, serving ${BOOKINFO.join(', ')}`);
  const installed = findOnPath('envoy', process.env.PATH ?? '');
  const envoy = installed ?? path.join(root, 'stand-ins', 'bin', 'envoy');
  say(installed ? `using Envoy from PATH: ${installed}` : `no envoy on PATH: using the test stand-in ${envoy}`);
  const ratings = 'ratings-v1';
  // The admin port of the README's example command.
  const adminPort = await pickPort(9901);
  const readinessPort = await pickPort(9902);
  const kumaDp = path.join(root, 'dist', 'bundle', 'kuma-dp.mjs');
  const args = ['run', '--admin-port', String(adminPort), '--drain-time', '1s', '--binary-path', envoy];
  say(`KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL=${cp.url} KUMA_DATAPLANE_MESH=default KUMA_DATAPLANE_NAME=${ratings} kuma-dp ${args.join(' ')}`);
  const agent = spawn(kumaDp, args, {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: {
      ...process.env,
      KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL: cp.url,
      KUMA_DATAPLANE_MESH: 'default',
      KUMA_DATAPLANE_NAME: ratings,
      KUMA_READINESS_PORT: String(readinessPort),
    },
  });
  let live = false;
  agent.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    if (chunk.toString().includes('Envoy is live')) live = true;
  });
  const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
  const stop = () => agent.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const seconds = Number(process.env.DEMO_SECONDS ?? 0);
  const timer = seconds > 0 ? setTimeout(stop, seconds * 1000) : undefined;
  if (!seconds) say('running; press Ctrl-C to stop');
  const code = await exited;
  clearTimeout(timer);
  await cp.close();
  const ok = live && code === 0;
  say(ok ? 'the dataplane came up and stopped cleanly' : `failed: Envoy ${live ? 'was live' : 'never became live'}, kuma-dp exited with ${code}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exit(1);
  },
);

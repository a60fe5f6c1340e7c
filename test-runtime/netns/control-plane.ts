// A network namespace made for one test, holding nothing but its loopback, with the fake kuma-cp
// listening there. Containers join it (`podman run --network ns:<path>`), so kuma-dp reaches the
// CP at 127.0.0.1 and every packet stays on that loopback: no bridge, no host port.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mode } from '../../stand-ins/control-plane.js';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'control-plane-main.js');

/** The port the fake kuma-cp listens on, on the namespace's loopback. */
export const CP_PORT = 5681;
export const CP_URL = `http://127.0.0.1:${CP_PORT}`;

export interface RecordedBootstrap {
  body: Record<string, unknown>;
  time: number;
}

export interface NetnsControlPlane {
  /** For `podman run --network`. */
  readonly network: string;
  /** The bootstrap requests so far. */
  requests(): Promise<RecordedBootstrap[]>;
  setMode(mode: Mode): Promise<void>;
  /** What GET http://127.0.0.1:<port><path> answers inside the namespace: "200 READY", "503 NOT_READY", "down". */
  probe(port: number, pathname?: string): Promise<string>;
  close(): Promise<void>;
}

function call(socketPath: string, method: string, pathname: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: pathname, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`control ${pathname}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`control ${pathname}: no answer`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts the namespace and its CP (needs root, util-linux `unshare` and iproute2 `ip`). */
export async function startNetnsControlPlane(dir: string): Promise<NetnsControlPlane> {
  const socketPath = path.join(dir, 'control.sock');
  // unshare execs sh, which execs node: the child's pid is the namespace holder's.
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, main, socketPath, String(CP_PORT)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the namespace's control plane exited ${code} before it was ready`)));
  });
  return {
    network: `ns:/proc/${child.pid}/ns/net`,
    requests: async () => (await call(socketPath, 'GET', '/requests')) as RecordedBootstrap[],
    setMode: async (mode) => void (await call(socketPath, 'POST', '/mode', JSON.stringify(mode))),
    probe: async (port, pathname = '/ready') => (await call(socketPath, 'GET', `/probe?port=${port}&path=${encodeURIComponent(pathname)}`)) as string,
    close: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

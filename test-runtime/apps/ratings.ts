// The application of templates/app-example.service in the systemd image (its ExecStart runs
// /opt/bookinfo/ratings/ratings.js <port>): a stand-in for bookinfo's ratings service that records,
// when it starts and when it is told to stop, what its sidecar's readiness endpoint (kuma-dp's
// default port) answers. Standalone: only node's own modules exist there.
import { appendFileSync } from 'node:fs';
import http from 'node:http';

const LOG = '/var/lib/bookinfo/ratings.log';
const SIDECAR_READY = 'http://127.0.0.1:9902/ready';

async function sidecar(): Promise<string> {
  try {
    const res = await fetch(SIDECAR_READY, { signal: AbortSignal.timeout(1000) });
    return `${res.status} ${(await res.text()).trim()}`;
  } catch {
    return 'down';
  }
}

async function record(event: 'start' | 'stop'): Promise<void> {
  appendFileSync(LOG, `${JSON.stringify({ event, pid: process.pid, sidecar: await sidecar(), time: Date.now() })}\n`);
}

await record('start');
const server = http.createServer((_req, res) => res.end('ratings\n')).listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => {
  void record('stop').finally(() => {
    server.close();
    process.exit(0);
  });
});

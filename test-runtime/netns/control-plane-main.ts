// Runs inside a network namespace of the suite's own (see control-plane.ts): the project's fake
// kuma-cp on this namespace's loopback, for the containers that join it, and a control endpoint
// on a unix socket (which no network namespace confines) through which the tests read the
// requests, change the CP's answers and probe the containers' loopback ports.
//   node control-plane-main.js <control socket> <cp port>
import http from 'node:http';
import { startControlPlane, type Mode } from '../../stand-ins/control-plane.js';
import { devBootstrap } from '../../scripts/dev-control-plane.js';

const [socketPath, portText] = process.argv.slice(2);
const cpPort = Number(portText);
if (!socketPath || !Number.isInteger(cpPort)) {
  process.stderr.write('usage: control-plane-main.js <control socket> <cp port>\n');
  process.exit(2);
}

const cp = await startControlPlane({ generation: 'modern', port: cpPort, bootstrap: (body) => devBootstrap(body, cpPort) });

async function probe(port: number, pathname: string): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(1000) });
    return `${res.status} ${(await res.text()).trim()}`;
  } catch {
    return 'down';
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const control = http.createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://control');
    let answer: unknown;
    if (url.pathname === '/requests') {
      answer = cp.requests.filter((r) => r.path.startsWith('/bootstrap')).map((r) => ({ body: r.body, time: r.time }));
    } else if (url.pathname === '/mode' && req.method === 'POST') {
      cp.setMode(JSON.parse(await readBody(req)) as Mode);
      answer = 'ok';
    } else if (url.pathname === '/probe') {
      answer = await probe(Number(url.searchParams.get('port')), url.searchParams.get('path') ?? '/');
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  })();
});
await new Promise<void>((resolve) => control.listen(socketPath, resolve));
process.stdout.write('ready\n');

// Dies with the test process that started it: its stdin is a pipe from that process.
const stop = () => {
  control.close();
  void cp.close().then(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

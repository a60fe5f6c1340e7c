import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { readBody } from '../src/http/body.js';
import { deadline, errorCode, keepAliveAgent, request } from '../src/http/client.js';
import { tempDir, waitUntil } from './helpers/agent.js';
import { makePki } from './helpers/pki.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A server closed after the test, with what it was sent and how many connections it took. */
async function serve<S extends http.Server>(server: S, handler: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void, listen: number | string = 0) {
  const seen: Seen[] = [];
  let connections = 0;
  server.on('connection', () => connections++);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const one = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(one);
      handler(req, res, one);
    });
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = typeof listen === 'string' ? 0 : (server.address() as AddressInfo).port;
  return { seen, port, connections: () => connections };
}

describe('the HTTP client', () => {
  it('sends a method, headers and a body, and hands back the status, headers and body', async () => {
    const server = await serve(http.createServer(), (_req, res, seen) => {
      res.writeHead(201, { 'content-type': 'text/plain', 'x-echo': seen.headers['x-test'] as string });
      res.end(`got ${seen.body}`);
    });
    const answer = await request(`http://127.0.0.1:${server.port}/bootstrap?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test': 'yes' },
      body: '{"a":1}',
    });
    assert.equal(answer.statusCode, 201);
    assert.equal(answer.headers['x-echo'], 'yes');
    assert.equal(await readBody(answer, 1024), 'got {"a":1}');
    assert.deepEqual(
      server.seen.map((s) => [s.method, s.url, s.headers['content-type'], s.body]),
      [['POST', '/bootstrap?x=1', 'application/json', '{"a":1}']],
    );
  });

  it("talks to a unix socket in place of the URL's host", async () => {
    const socketPath = path.join(tempDir(), 'http.sock');
    const server = await serve(http.createServer(), (_req, res) => res.end('over the socket'), socketPath);
    const answer = await request('http://localhost/ready', { socketPath });
    assert.equal(await readBody(answer, 1024), 'over the socket');
    assert.equal(server.seen[0]!.url, '/ready');
  });

  it('rejects with the signal’s reason when it fires before the answer, and fails a body it cuts off with it', async () => {
    const server = await serve(http.createServer(), (req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200, { 'content-length': '1000' });
      res.write('a first part');
    });
    await assert.rejects(request(`http://127.0.0.1:${server.port}/silent`, { signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });

    const controller = new AbortController();
    const answer = await request(`http://127.0.0.1:${server.port}/trickle`, { signal: controller.signal });
    const reading = (async () => {
      for await (const chunk of answer.body) {
        assert.equal(String(chunk), 'a first part');
        controller.abort(new Error('deadline'));
      }
    })();
    await assert.rejects(reading, { message: 'deadline' });

    const aborted = new AbortController();
    aborted.abort(new Error('already'));
    await assert.rejects(request(`http://127.0.0.1:${server.port}/`, { signal: aborted.signal }), { message: 'already' });
  });

  it('bounds a request with a deadline that fires as AbortSignal.timeout does, and never once cleared', async () => {
    const server = await serve(http.createServer(), (req, res) => {
      if (req.url !== '/silent') res.end('ok');
    });
    await assert.rejects(request(`http://127.0.0.1:${server.port}/silent`, { signal: deadline(100).signal }), { name: 'TimeoutError' });
    const bound = deadline(50);
    assert.equal(await readBody(await request(`http://127.0.0.1:${server.port}/`, { signal: bound.signal }), 64), 'ok');
    bound.clear();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(bound.signal.aborted, false, 'a cleared deadline never fires');
  });

  it('keeps one connection alive for many requests', async () => {
    const server = await serve(http.createServer(), (_req, res) => res.end('ok'));
    const agent = keepAliveAgent({ maxSockets: 1 });
    after(() => agent.destroy());
    const answers = await Promise.all([1, 2, 3, 4].map(() => request(`http://127.0.0.1:${server.port}/ready`, { agent }).then((a) => readBody(a, 100))));
    assert.deepEqual(answers, ['ok', 'ok', 'ok', 'ok']);
    assert.equal(server.seen.length, 4);
    assert.equal(server.connections(), 1);
  });

  it('gives up on a request waiting for the pool’s one connection when its signal fires', async () => {
    let release = () => {};
    const server = await serve(http.createServer(), (req, res) => {
      if (req.url === '/hold') release = () => res.end('held');
      else res.end('next');
    });
    const agent = keepAliveAgent({ maxSockets: 1 });
    after(() => agent.destroy());
    const url = `http://127.0.0.1:${server.port}`;
    const held = request(`${url}/hold`, { agent });
    await waitUntil(() => server.seen.length === 1, 10_000, 'the first request');
    const controller = new AbortController();
    const queued = request(`${url}/queued`, { agent, signal: controller.signal });
    controller.abort(new Error('deadline'));
    // Rejected while the connection is still busy with the first request.
    await assert.rejects(queued, { message: 'deadline' });
    release();
    assert.equal(await readBody(await held, 100), 'held');
    assert.equal(await readBody(await request(`${url}/after`, { agent }), 100), 'next');
    assert.deepEqual(server.seen.map((s) => s.url), ['/hold', '/after']);
  });

  it('sends an idempotent request again when the server dropped the kept-alive connection, and no other', async () => {
    // Every second request on a connection is reset unanswered, as a server that closed an idle
    // connection while the request was on its way.
    const perSocket = new WeakMap<object, number>();
    const server = await serve(http.createServer(), (req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n === 2) req.socket.resetAndDestroy();
      else res.end(`answer on ${server.connections()}`);
    });
    const agent = keepAliveAgent({ maxSockets: 1 });
    after(() => agent.destroy());
    const url = `http://127.0.0.1:${server.port}/`;
    assert.equal(await readBody(await request(url, { agent }), 100), 'answer on 1');
    assert.equal(await readBody(await request(url, { agent }), 100), 'answer on 2');
    assert.equal(await readBody(await request(url, { method: 'POST', idempotent: true, agent }), 100), 'answer on 3');
    await assert.rejects(request(url, { method: 'POST', agent }), { code: 'ECONNRESET' });
    assert.equal(server.connections(), 3);
  });

  it('leaves no kept-alive connection holding the process', async () => {
    const server = await serve(http.createServer(), (_req, res) => res.end('ok'));
    const client = pathToFileURL(path.resolve(import.meta.dirname, '../src/http/client.js')).href;
    const script = `import { keepAliveAgent, request } from ${JSON.stringify(client)};
      const agent = keepAliveAgent();
      const answer = await request('http://127.0.0.1:${server.port}/', { agent });
      answer.body.resume();
      answer.body.on('end', () => setImmediate(() => console.log('idle', Object.values(agent.freeSockets).flat().length)));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? signal)));
    clearTimeout(killer);
    assert.equal(code, 0);
    // The connection was kept alive, idle in the pool, and the process left all the same.
    assert.equal(out, 'idle 1\n');
  });

  it('verifies an https server against the CA its agent carries', async () => {
    const pki = makePki();
    const server = await serve(https.createServer(pki.good), (_req, res) => res.end('secure'));
    const url = `https://127.0.0.1:${server.port}/`;
    const answer = await request(url, { agent: new https.Agent({ ca: pki.caCert }) });
    assert.equal(await readBody(answer, 100), 'secure');
    const untrusted = await request(url, { agent: new https.Agent({ ca: readFileSync(pki.otherCaFile) }) }).catch((error: unknown) => error);
    assert.equal(errorCode(untrusted), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('reads the code of an error, of the error it wraps, or else its message', () => {
    assert.equal(errorCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
    assert.equal(errorCode(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }) })), 'CERT_HAS_EXPIRED');
    assert.equal(errorCode(new DOMException('The operation timed out', 'TimeoutError')), 'The operation timed out');
    assert.equal(errorCode('plain'), 'plain');
  });
});

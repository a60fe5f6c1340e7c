// A stand-in for kuma-cp's bootstrap endpoint, built from ../shared/CONTRACTS.md §1: the 0.2
// "bootstrap server" (legacy) and the 1.0+ "DP server" (modern), with the failure answers
// kuma-dp must tell apart.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { parse as parseYaml } from 'yaml';
import { buildBootstrap } from './bootstraps.js';

export type Generation = 'modern' | 'legacy';

export type Mode =
  | 'ok'
  /** Dataplane unknown: 404 with an empty body. */
  | 'not-found'
  /** Not a CP (e.g. a wrong port): 404 with go-restful's `404: Page Not Found`. */
  | 'page-not-found'
  | 'unprocessable'
  | { kind: 'unprocessable'; reason: string }
  | 'bad-request'
  | 'error'
  /** 200 with a body that is no bootstrap. */
  | 'garbage'
  /** The first `times` bootstrap requests (counted from setMode) get `status`, later ones succeed. */
  | { kind: 'fail-times'; times: number; status: 500 | 404 }
  /** Hostile: 200 and headers at once, then the body one byte every `intervalMs`, never ending. */
  | { kind: 'trickle'; intervalMs: number }
  /** Hostile: a 200 JSON answer of `bytes` bytes, streamed. */
  | { kind: 'oversized'; bytes: number }
  /** Hostile: 422 with a text that quotes the request's dataplane token. */
  | 'echo-token';

export interface RecordedRequest {
  method: string;
  /** Path with the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  rawBody: string;
  time: number;
}

export interface ControlPlaneOptions {
  generation: Generation;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** YAML to serve, or a function of the parsed request body; default the generation's bootstrap from stand-ins/bootstraps.ts. */
  bootstrap?: string | ((body: Record<string, unknown>) => string);
  mode?: Mode;
  /** When set, only these dataplane names get a bootstrap; others get 404 with an empty body. */
  dataplanes?: string[];
  /** Serve https with this PEM key and certificate. */
  tls?: { key: string; cert: string };
  kumaSidecarConfiguration?: object;
}

export interface ControlPlane {
  /** e.g. http://127.0.0.1:5682, no trailing slash. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  setMode(mode: Mode): void;
  /** Resolves with the first recorded request matching `predicate` (default: any POST /bootstrap). */
  waitForRequest(predicate?: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export const defaultSidecarConfiguration = { networking: { address: '127.0.0.1' }, metrics: { aggregate: [] } };

/** A port that was free a moment ago on 127.0.0.1. */
// Below Linux's ephemeral range (32768–60999): a port the kernel gave out for listen(0) is one it
// may hand to the next outgoing connection too, and a test that binds it a moment later then finds
// it taken. Ports are not handed out twice by one process.
const PORT_RANGE = { from: 20_000, to: 32_000 } as const;
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on, for a test or the demo to give to a server. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.from}-${PORT_RANGE.to} after 100 tries`);
}

const PAGE_NOT_FOUND = '404: Page Not Found';

// With a Dataplane template the name comes from the resource, as in kuma-cp.
function dataplaneName(body: Record<string, unknown>): unknown {
  if (typeof body.dataplaneResource === 'string') {
    try {
      const resource: unknown = parseYaml(body.dataplaneResource);
      if (typeof resource === 'object' && resource !== null && 'name' in resource) return resource.name;
    } catch {
      // fall back to the plain field
    }
  }
  return body.name;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { generation } = options;
  const host = options.host ?? '127.0.0.1';
  const bootstrapFor = typeof options.bootstrap === 'function' ? options.bootstrap : () => (options.bootstrap as string | undefined) ?? buildBootstrap(generation);
  const sidecar = options.kumaSidecarConfiguration ?? defaultSidecarConfiguration;
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let mode: Mode = options.mode ?? 'ok';
  let failuresLeft = 0;

  function setMode(next: Mode): void {
    mode = next;
    failuresLeft = typeof next === 'object' && next.kind === 'fail-times' ? next.times : 0;
  }
  setMode(mode);

  function send(res: ServerResponse, status: number, body = '', contentType = 'text/plain; charset=utf-8'): void {
    res.writeHead(status, body === '' ? {} : { 'content-type': contentType });
    res.end(body);
  }

  function sendBootstrap(req: IncomingMessage, res: ServerResponse, yaml: string): void {
    if (generation === 'legacy') return send(res, 200, yaml, 'text/plain; charset=utf-8');
    if (req.headers.accept === 'application/json') {
      const envelope = { bootstrap: Buffer.from(yaml).toString('base64'), kumaSidecarConfiguration: sidecar };
      return send(res, 200, JSON.stringify(envelope), 'application/json');
    }
    return send(res, 200, yaml, 'text/x-yaml');
  }

  function sendGarbage(req: IncomingMessage, res: ServerResponse): void {
    if (generation === 'modern' && req.headers.accept === 'application/json') {
      const envelope = { bootstrap: Buffer.from('{{{ not: yaml: [').toString('base64'), kumaSidecarConfiguration: sidecar };
      return send(res, 200, JSON.stringify(envelope), 'application/json');
    }
    return send(res, 200, '<html><body><h1>Welcome to nginx!</h1></body></html>\n', 'text/html');
  }

  function trickle(res: ServerResponse, intervalMs: number): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), intervalMs);
    res.on('close', () => clearInterval(timer));
  }

  function sendOversized(res: ServerResponse, bytes: number): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(left, chunk.length));
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => {});
    pump();
  }

  function handleBootstrap(req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest): void {
    if (typeof mode === 'object' && mode.kind === 'fail-times' && failuresLeft > 0) {
      failuresLeft--;
      return send(res, mode.status);
    }
    if (mode === 'not-found') return send(res, 404);
    if (mode === 'page-not-found') return send(res, 404, PAGE_NOT_FOUND);
    if (mode === 'unprocessable') return send(res, 422, 'token required');
    if (typeof mode === 'object' && mode.kind === 'unprocessable') return send(res, 422, mode.reason);
    if (mode === 'bad-request') return send(res, 400, 'bad request');
    if (mode === 'error') return send(res, 500);
    if (mode === 'garbage') return sendGarbage(req, res);
    if (typeof mode === 'object' && mode.kind === 'trickle') return trickle(res, mode.intervalMs);
    if (typeof mode === 'object' && mode.kind === 'oversized') return sendOversized(res, mode.bytes);
    if (mode === 'echo-token') {
      const token = (recorded.body as { dataplaneToken?: unknown } | null)?.dataplaneToken;
      return send(res, 422, `token ${String(token)} is not valid for this dataplane`);
    }

    const body = recorded.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(res, 400);
    const request = body as Record<string, unknown>;
    if (options.dataplanes && !options.dataplanes.includes(String(dataplaneName(request)))) return send(res, 404);
    return sendBootstrap(req, res, bootstrapFor(request));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown = rawBody;
    try {
      body = JSON.parse(rawBody);
    } catch {
      // keep the raw text
    }
    const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, rawBody, time: Date.now() };
    requests.push(recorded);
    for (const wake of waiters) wake();

    const { pathname } = new URL(req.url ?? '/', 'http://cp');
    if (pathname !== '/bootstrap') return send(res, 404, PAGE_NOT_FOUND);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, '405: Method Not Allowed');
    }
    return handleBootstrap(req, res, recorded);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, String(err));
      else res.destroy();
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' }, listener) : http.createServer(listener);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  function waitForRequest(
    predicate: (request: RecordedRequest) => boolean = (r) => r.method === 'POST' && r.path.startsWith('/bootstrap'),
    timeoutMs = 10_000,
  ): Promise<RecordedRequest> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = requests.find(predicate);
        if (!found) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`control plane: no matching request within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(wake);
      check();
    });
  }

  return {
    url,
    port,
    requests,
    setMode,
    waitForRequest,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

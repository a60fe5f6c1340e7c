// A stand-in for an application that serves its own metrics, as a Prometheus client library does:
// text 0.0.4 by default, OpenMetrics 1.0.0 when the scraper's Accept asks for it (counters
// named without `_total` in `# TYPE`, `# EOF` at the end). Runs in the test's own process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsApp {
  readonly port: number;
  /** Requests so far: path with query, and headers. */
  readonly requests: Array<{ path: string; headers: http.IncomingHttpHeaders }>;
  /** What it answers from now on: a status other than 200 fails the scrape; delayMs holds the answer back. */
  set(answer: { status?: number; delayMs?: number }): void;
  close(): Promise<void>;
}

/**
 * The metrics of a small web app, the counter carrying `requests`: in text 0.0.4, or in
 * OpenMetrics, where a counter's family is named without `_total` and the text ends with `# EOF`.
 */
export function appMetricsText(requests: number, openMetrics = false): string {
  const counter = openMetrics ? 'app_requests' : 'app_requests_total';
  return [
    `# HELP ${counter} Requests served.`,
    `# TYPE ${counter} counter`,
    `app_requests_total{route="/"} ${requests}`,
    '# HELP app_request_seconds Time to serve a request.',
    '# TYPE app_request_seconds histogram',
    'app_request_seconds_bucket{le="0.1"} 3',
    'app_request_seconds_bucket{le="1"} 4',
    'app_request_seconds_bucket{le="+Inf"} 4',
    'app_request_seconds_sum 0.9',
    'app_request_seconds_count 4',
    ...(openMetrics ? ['# EOF'] : []),
    '',
  ].join('\n');
}

export async function startMetricsApp(options: { requests?: number; path?: string } = {}): Promise<MetricsApp> {
  const requests: MetricsApp['requests'] = [];
  const path = options.path ?? '/metrics';
  let answer: { status?: number; delayMs?: number } = {};
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    const reply = (): void => {
      if (new URL(req.url ?? '/', 'http://app').pathname !== path) {
        res.writeHead(404).end('not found\n');
        return;
      }
      if ((answer.status ?? 200) !== 200) {
        res.writeHead(answer.status!).end('failing on purpose\n');
        return;
      }
      const openMetrics = /application\/openmetrics-text/.test(req.headers.accept ?? '');
      res.writeHead(200, {
        'content-type': openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8',
      });
      res.end(appMetricsText(options.requests ?? 5, openMetrics));
    };
    if (answer.delayMs) setTimeout(reply, answer.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    set: (next) => (answer = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// kuma-cp's MeshAccessLog TCP backends (CASES.md section G): the pipe it tells Envoy to write is
// the one the agent makes, and each of its formats, rendered as Envoy renders it, reaches the
// collector as Go kuma-dp would send it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { accessLogStreamer } from '../src/accesslogs/component.js';
import { accessLogPipePath } from '../src/dataplane/sockets.js';
import { createLogger } from '../src/logging/logger.js';
import { realClock } from '../src/runtime/clock.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { startLogCollector } from '../stand-ins/log-collector.js';
import { tempDir, waitUntil } from '../test/helpers/agent.js';
import { fixture } from './shared.js';

const GOLDENS = ['default', 'plain', 'json'].map((format) => `outbound_tcp_backend_${format}_format.listener.golden.yaml`);
const TESTDATA = 'pkg/plugins/policies/meshaccesslog/plugin/v1alpha1/testdata';

interface FileAccessLog {
  path: string;
  logFormat: { jsonFormat: { address: string; message: unknown } };
}

/** The file access logger of the golden listener's TCP proxy. */
function fileAccessLog(file: string): FileAccessLog {
  const listener = parse(readFileSync(file, 'utf8')) as {
    filterChains: Array<{ filters: Array<{ typedConfig: { accessLog: Array<{ name: string; typedConfig: FileAccessLog }> } }> }>;
  };
  const logger = listener.filterChains[0]!.filters[0]!.typedConfig.accessLog.find((log) => log.name === 'envoy.access_loggers.file');
  assert.ok(logger, `no envoy.access_loggers.file in ${file}`);
  return logger.typedConfig;
}

/** Envoy's substitution of command operators, with fixed values. */
function render(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/%START_TIME%/g, '2024-05-01T10:00:00.000Z').replace(/%[A-Z_]+%/g, '7');
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, render(inner)]));
  return value;
}

describe('MeshAccessLog TCP backends (kuma-cp goldens)', () => {
  for (const version of ['head', 'v2.14.3']) {
    it(`${version}: the pipe kuma-cp names is the agent's, and every format arrives as Go kuma-dp sends it`, async () => {
      const loggers = GOLDENS.map((golden) => fileAccessLog(fixture(version, TESTDATA, golden)));
      // kuma-cp built these for workdir /tmp, dataplane backend, mesh default.
      for (const logger of loggers) assert.equal(logger.path, accessLogPipePath('/tmp', 'backend', 'default'));

      const sink = await startLogCollector();
      after(() => sink.close());
      const pipePath = accessLogPipePath(tempDir(), 'backend', 'default');
      const streamer = accessLogStreamer({ pipePath, bufferBytes: 1024 * 1024, clock: realClock });
      const running = await streamer.start({ logger: createLogger({ level: 'silent', base: {}, pretty: false }), readiness: new ReadinessGates() });
      after(() => running.stop());
      // The goldens' address has no port (`logging.backend`): the collector's stands in for it.
      const lines = loggers.map((logger) => ({ ...(render(logger.logFormat.jsonFormat) as { message: unknown }), address: sink.address }));
      let expected = '';
      for (const { message } of lines) {
        expected += typeof message === 'string' ? message : `${JSON.stringify(Object.fromEntries(Object.entries(message as object).sort()))}\n`;
      }
      const envoy = await open(pipePath, 'a');
      await envoy.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      await envoy.close();
      await waitUntil(() => sink.text().length >= expected.length, 10_000, 'the three lines');
      assert.equal(sink.text(), expected);
      assert.match(
        expected,
        /^\[2024-05-01T10:00:00\.000Z\] 7 default \S+->7\(\S+\) took 7ms, sent 7 bytes, received: 7 bytes\ncustom format \[2024-05-01T10:00:00\.000Z\] 7\n\{"duration":"7","protocol":"7"\}\n$/,
      );
    });
  }
});

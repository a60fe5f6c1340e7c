import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import { goJson, LineParser } from '../src/accesslogs/parser.js';
import { openFifo } from '../src/accesslogs/fifo.js';
import { LineSplitter } from '../src/accesslogs/lines.js';
import { MAX_BACKENDS } from '../src/accesslogs/pool.js';
import { accessLogStreamer, ACCESS_LOG_FEATURE } from '../src/accesslogs/component.js';
import { formatByteSize, parseByteSize } from '../src/config/size.js';
import { AccessLogStats } from '../src/accesslogs/stats.js';
import { createAgentMetrics } from '../src/agent-metrics/metrics.js';
import { accessLogPipePath, metricsSocketPath } from '../src/dataplane/sockets.js';
import { realClock, type Clock } from '../src/runtime/clock.js';
import type { Running } from '../src/runtime/component.js';
import { ReadinessGates } from '../src/runtime/readiness.js';
import { freePort } from '../stand-ins/control-plane.js';
import { startLogCollector, type LogCollector } from '../stand-ins/log-collector.js';
import { writeScenario } from '../stand-ins/scenario.js';
import { agentEnv, runAgent, tempDir, waitUntil } from './helpers/agent.js';
import { ManualClock } from './helpers/clock.js';
import { sampleValues } from './helpers/metrics.js';
import { unixGet } from './helpers/unix-http.js';
import { startDataplane } from './helpers/readiness.js';

const KiB = 1024;
const WAIT_MS = 20_000;

/** Log events of a streamer, as parsed JSON. */
function captureLogs() {
  const events: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { logger, events, warnings: () => events.filter((event) => event.level === 40) };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function collector(options: Parameters<typeof startLogCollector>[0] = {}): Promise<LogCollector> {
  const sink = await startLogCollector(options);
  cleanups.push(() => sink.close());
  return sink;
}

/** A streamer on a fresh FIFO under a temp work dir, started; stopped after the test. */
async function streamer(options: { bufferBytes?: number; pipePath?: string; clock?: Clock } = {}) {
  const pipePath = options.pipePath ?? accessLogPipePath(tempDir('kuma-dp-al-'), 'backend', 'default');
  const component = accessLogStreamer({ pipePath, bufferBytes: options.bufferBytes ?? 1024 * KiB, clock: options.clock ?? realClock });
  const logs = captureLogs();
  const running: Running = await component.start({ logger: logs.logger, readiness: new ReadinessGates() });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.stop();
  };
  cleanups.push(stop);
  return { pipePath, component, stats: component.stats, running, logs, stop };
}

/** Envoy's end of the pipe: opened for writing as its file access logger opens it. */
async function writer(pipePath: string) {
  const handle = await open(pipePath, 'a');
  let closed = false;
  cleanups.push(() => (closed ? undefined : handle.close()));
  return {
    async write(data: string | Buffer) {
      const bytes = Buffer.from(data);
      for (let offset = 0; offset < bytes.length; ) offset += (await handle.write(bytes, offset)).bytesWritten;
    },
    async close() {
      closed = true;
      await handle.close();
    },
  };
}

const received = (sink: LogCollector, text: string, what = 'the expected bytes') =>
  waitUntil(() => sink.text().length >= text.length, WAIT_MS, what).then(() => assert.equal(sink.text(), text));

/** A line as the streamer reads it, with its newline, and what it makes of it. */
function entry(line: string | Buffer, parser = new LineParser()) {
  const bytes = Buffer.concat([Buffer.from(line), Buffer.from('\n')]);
  if (!parser.parse(bytes, 0, bytes.length - 1)) return undefined;
  return { address: parser.address, message: parser.bytes.toString('utf8', parser.start, parser.end) };
}

describe('access-log lines (Go kuma-dp streamer rules)', () => {
  it('sends a JSON string message as is and an object message as sorted JSON with a newline', () => {
    assert.deepEqual(entry('{"address":"127.0.0.1:5","message":"hello\\n"}'), { address: '127.0.0.1:5', message: 'hello\n' });
    assert.deepEqual(entry('{"address":"127.0.0.1:5","message":{"b":"2","a":"1"}}'), { address: '127.0.0.1:5', message: '{"a":"1","b":"2"}\n' });
    assert.deepEqual(entry('{"address":"h:1","message":"no newline"}'), { address: 'h:1', message: 'no newline' });
  });

  it('reads the common line without JSON.parse, and every other JSON line with it, alike', () => {
    const cases = [
      ['{"address":"h:1","message":"[2024] took 3ms\\n"}', '[2024] took 3ms\n'],
      ['{"address":"h:1","message":"\\n"}', '\n'],
      ['{"address":"h:1","message":"tab\\there\\n"}', 'tab\there\n'],
      ['{"address":"h:1","message":"quote \\" and \\\\ \\u00e9\\n"}', 'quote " and \\ é\n'],
      ['{"address":"h:1","message":"é\\n"}', 'é\n'],
      ['{"address":"h:1","message":"a\\n","extra":"b\\n"}', 'a\n'],
      ['{"message":"first\\n","address":"h:1"}', 'first\n'],
      ['{ "address": "h:1", "message": "spaced\\n" }', 'spaced\n'],
    ];
    for (const [line, message] of cases) assert.deepEqual(entry(line!), { address: 'h:1', message }, line);
    assert.deepEqual(entry('{"address":"h:1","message":"unterminated\\n"'), undefined);
  });

  it('names the right backend whichever way consecutive lines are read', () => {
    const parser = new LineParser();
    const lines: Array<[string, string]> = [
      ['{"address":"a:1","message":"1\\n"}', 'a:1'],
      ['{"address":"b:2","message":{"x":1}}', 'b:2'],
      ['{"address":"a:1","message":"2\\n"}', 'a:1'],
      ['a:1;3', 'a:1'],
      ['c:3;4', 'c:3'],
      ['{"address":"c:3","message":"5\\n"}', 'c:3'],
      ['{"address":"a:10","message":"6\\n"}', 'a:10'],
    ];
    for (const [line, address] of lines) assert.equal(entry(line, parser)?.address, address, line);
  });

  it('reads the legacy address;message form, split at the first ; with the newline kept, bytes as they are', () => {
    assert.deepEqual(entry('127.0.0.1:5;plain;text'), { address: '127.0.0.1:5', message: 'plain;text\n' });
    assert.deepEqual(entry('{not json;x'), { address: '{not json', message: 'x\n' });
    const parser = new LineParser();
    assert.ok(parser.parse(Buffer.from([0x68, 0x3a, 0x31, 0x3b, 0xe9, 0x0a]), 0, 5));
    assert.deepEqual([...parser.bytes.subarray(parser.start, parser.end)], [0xe9, 0x0a], 'not UTF-8, sent as is, as Go sends it');
  });

  it('refuses anything else', () => {
    for (const line of ['garbage-without-separator', '', '[1,2]', '{"message":"no address"}']) assert.equal(entry(line), undefined, line);
  });

  it('writes object messages as Go does: keys sorted at every level, integer-like keys too, HTML escaped', () => {
    assert.equal(goJson({ z: [{ y: 1, x: null }], 10: 'a', 9: true, a: '<b>&\u2028' }), '{"10":"a","9":true,"a":"\\u003cb\\u003e\\u0026\\u2028","z":[{"x":null,"y":1}]}');
    assert.deepEqual(entry('{"address":"h:1"}'), { address: 'h:1', message: 'null\n' });
    assert.deepEqual(entry('{"address":"h:1","message":null}'), { address: 'h:1', message: 'null\n' });
  });

  it('cuts lines however the bytes were split, and drops a line over the cap whole', () => {
    const lines: string[] = [];
    let tooLong = 0;
    const splitter = new LineSplitter((bytes, start, end) => {
      assert.equal(bytes[end], 0x0a, 'each line is followed by its newline');
      lines.push(bytes.toString('utf8', start, end));
    }, () => (tooLong += 1), 10);
    for (const piece of ['ab', 'c\nde', 'f\n\n', '0123456789', '\nx', 'y\n', '01234', '567890123\nok\n', 'é'.repeat(3)]) splitter.push(Buffer.from(piece));
    assert.deepEqual(lines, ['abc', 'def', '', '0123456789', 'xy', 'ok']);
    assert.equal(tooLong, 1);
    assert.equal(splitter.discardUnfinished(), true);
  });
});

describe('--access-log-buffer sizes', () => {
  const parse = parseByteSize(256 * 1024 * KiB);
  it('reads bytes and binary units', () => {
    assert.equal(parse('1048576', '--access-log-buffer'), 1024 * KiB);
    assert.equal(parse('512KiB', '--access-log-buffer'), 512 * KiB);
    assert.equal(parse(' 1mib ', '--access-log-buffer'), 1024 * KiB);
    assert.equal(parse('0', '--access-log-buffer'), 0);
    assert.equal(formatByteSize(512 * KiB), '512KiB');
  });
  it('refuses nonsense with one line naming the flag', () => {
    for (const raw of ['lots', '1MB', '-1', '1.5MiB', '', '1 TiB', '300MiB']) {
      assert.throws(() => parse(raw, '--access-log-buffer'), (error: Error) => error.message.startsWith(`invalid --access-log-buffer "${raw}"`) && !error.message.includes('\n'), raw);
    }
  });
});

describe('access-log streamer', () => {
  it('asks kuma-cp for named-pipe access logs and is resilient', () => {
    const component = accessLogStreamer({ pipePath: '/nonexistent', bufferBytes: 0, clock: realClock });
    assert.deepEqual(component.features, [ACCESS_LOG_FEATURE]);
    assert.equal(ACCESS_LOG_FEATURE, 'feature-tcp-accesslog-via-named-pipe');
    assert.equal(component.resilient, true);
  });

  it('replaces what is at the path with a FIFO of its own, mode 0600, never following a symlink', async () => {
    const dir = tempDir('kuma-dp-al-');
    const target = path.join(dir, 'precious');
    writeFileSync(target, 'keep me');
    const pipePath = path.join(dir, 'kuma-al-x-default.sock');
    symlinkSync(target, pipePath);
    const { stop } = await streamer({ pipePath });
    const stat = lstatSync(pipePath);
    assert.ok(stat.isFIFO());
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(stat.uid, process.geteuid!());
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    await stop();
    assert.equal(existsSync(pipePath), false, 'stop removes the FIFO');
    assert.equal(readFileSync(target, 'utf8'), 'keep me');

    writeFileSync(pipePath, 'a regular file Envoy made when nobody had made the pipe');
    const again = await streamer({ pipePath });
    assert.ok(lstatSync(pipePath).isFIFO());
    await again.stop();
  });

  it('fails to start, saying why, when the path cannot be replaced', async () => {
    const dir = tempDir('kuma-dp-al-');
    const pipePath = path.join(dir, 'kuma-al-x-default.sock');
    mkdirSync(pipePath);
    const component = accessLogStreamer({ pipePath, bufferBytes: 0, clock: realClock });
    await assert.rejects(component.start({ logger: pino({ level: 'silent' }), readiness: new ReadinessGates() }), /cannot replace .*kuma-al-x-default\.sock/);
  });

  it('sends every format to its backend, exactly and in order (Kuma cases G1-G4)', async () => {
    const sink = await collector();
    const other = await collector();
    const { pipePath, stats } = await streamer();
    const envoy = await writer(pipePath);
    const a = sink.address;
    await envoy.write(
      `{"address":"${a}","message":"hello\\n"}\n` +
        `{"address":"${a}","message":{"b":"2","a":"1"}}\n` +
        `${a};plain text\n` +
        'garbage-without-separator\n' +
        `{"address":"${other.address}","message":"elsewhere\\n"}\n` +
        `not-an-address;x\n` +
        `{"address":"${a}","message":"after the bad ones\\n"}\n`,
    );
    await received(sink, 'hello\n{"a":"1","b":"2"}\nplain text\nafter the bad ones\n');
    await received(other, 'elsewhere\n');
    assert.equal(stats.sent, 5);
    assert.equal(stats.dropped, 2);
    assert.equal(sink.connections, 1, 'one connection per backend, kept');
  });

  it('passes many lines written quickly, lines split across writes and a 64 KiB line', async () => {
    const sink = await collector();
    const { pipePath, stats } = await streamer();
    const envoy = await writer(pipePath);
    let expected = '';
    let input = '';
    for (let i = 0; i < 20_000; i++) {
      const message = `[2024-01-01T00:00:00.000Z] - default 127.0.0.1(demo-client)->10.0.0.${i % 250}:80(backend) took ${i}ms, sent ${i * 7} bytes\n`;
      expected += i % 3 === 2 ? `{"bytes":${i},"n":"${i}"}\n` : message;
      input += i % 3 === 0 ? `${JSON.stringify({ address: sink.address, message })}\n`
        : i % 3 === 1 ? `${sink.address};${message}`
        : `{"address":"${sink.address}","message":{"n":"${i}","bytes":${i}}}\n`;
    }
    const big = `${'x'.repeat(64 * KiB - 1)}\n`;
    expected += big;
    input += `${JSON.stringify({ address: sink.address, message: big })}\n`;
    // Split at awkward places: one byte at a time for a while, then odd-sized pieces.
    const bytes = Buffer.from(input);
    let offset = 0;
    for (; offset < 300; offset++) await envoy.write(bytes.subarray(offset, offset + 1));
    for (let size = 7; offset < bytes.length; size = (size * 31) % 9973 + 1) {
      await envoy.write(bytes.subarray(offset, offset + size));
      offset += size;
    }
    await received(sink, expected, 'all 20001 lines');
    assert.equal(stats.sent, 20_001);
    assert.equal(stats.dropped, 0);
  });

  it('sends text that is not UTF-8 in a JSON string as JSON decoding would, however the bytes arrive', async () => {
    const sink = await collector();
    const { pipePath } = await streamer();
    const envoy = await writer(pipePath);
    const head = Buffer.from(`{"address":"${sink.address}","message":"`);
    const line = (text: Buffer) => Buffer.concat([head, text, Buffer.from('\\n"}\n')]);
    const input = Buffer.concat([line(Buffer.from('é')), line(Buffer.from([0xff])), line(Buffer.from('ok'))]);
    for (let i = 0; i < input.length; i++) await envoy.write(input.subarray(i, i + 1));
    await envoy.write(input);
    const expected = Buffer.from('é\n\ufffd\nok\n'.repeat(2));
    await waitUntil(() => sink.bytes >= expected.length, WAIT_MS, 'both copies');
    assert.deepEqual(sink.data(), expected);
  });

  it('drops a line over 1 MiB, counts it, and goes on with the next', async () => {
    const sink = await collector();
    const { pipePath, stats } = await streamer();
    const envoy = await writer(pipePath);
    await envoy.write(`${sink.address};${'y'.repeat(1024 * KiB + 10)}\n${sink.address};next\n`);
    await received(sink, 'next\n');
    assert.equal(stats.dropped, 1);
  });

  it('warns about bad lines at a bounded rate', async () => {
    const sink = await collector();
    const { pipePath, stats, logs } = await streamer();
    const envoy = await writer(pipePath);
    await envoy.write(`${'garbage\n'.repeat(5000)}${sink.address};fine\n`);
    await received(sink, 'fine\n');
    assert.equal(stats.dropped, 5000);
    assert.equal(logs.warnings().length, 1);
  });

  it('keeps what a down backend misses and sends it, in order, once it is up', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const { pipePath, stats } = await streamer();
    const envoy = await writer(pipePath);
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} while the backend is down\n`);
    for (const line of lines.slice(0, 250)) await envoy.write(`${JSON.stringify({ address, message: line })}\n`);
    await waitUntil(() => stats.bufferedBytes > 0, WAIT_MS, 'lines buffered');
    const sink = await collector({ port });
    for (const line of lines.slice(250)) await envoy.write(`${address};${line.slice(0, -1)}\n`);
    await received(sink, lines.join(''));
    assert.equal(stats.sent, 500);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.bufferedBytes, 0);
  });

  it('holds at most the buffer for a backend that never comes up, dropping the oldest', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const bufferBytes = 64 * KiB;
    const { pipePath, stats } = await streamer({ bufferBytes });
    const envoy = await writer(pipePath);
    const message = (i: number) => `${String(i).padStart(8, '0')} ${'z'.repeat(90)}\n`; // 100 bytes
    const total = 30_000; // 3 MB: 46 times the buffer
    let input = '';
    for (let i = 0; i < total; i++) input += `${address};${message(i).slice(0, -1)}\n`;
    await envoy.write(input);
    const kept = Math.floor(bufferBytes / 100);
    await waitUntil(() => stats.dropped === total - kept, WAIT_MS, `${total - kept} lines dropped`);
    assert.equal(stats.bufferedBytes, kept * 100);
    assert.equal(stats.sent, 0);
    // What it kept is the newest lines: the oldest went first.
    const sink = await collector({ port });
    let expected = '';
    for (let i = total - kept; i < total; i++) expected += message(i);
    await received(sink, expected);
  });

  it('with no buffer, drops what comes while the backend is down and passes what comes once it is up', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const { pipePath, stats } = await streamer({ bufferBytes: 0 });
    const envoy = await writer(pipePath);
    await envoy.write(`${address};lost 1\n${address};lost 2\n`);
    await waitUntil(() => stats.dropped === 2, WAIT_MS, 'both lines dropped');
    assert.equal(stats.bufferedBytes, 0);
    const sink = await collector({ port });
    // The next attempt comes a second after the refusal; lines written until then are dropped too.
    for (let i = 0; sink.text() === ''; i++) {
      await envoy.write(`${address};line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await envoy.write(`${address};last\n`);
    await waitUntil(() => sink.text().endsWith('last\n'), WAIT_MS, 'the last line');
    assert.match(sink.text(), /^(line \d+\n)+last\n$/);
  });

  it('after a refused connection waits a second before the next attempt, however many lines come', async () => {
    const clock = new ManualClock();
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const { pipePath, stats, logs } = await streamer({ clock });
    const envoy = await writer(pipePath);
    await envoy.write(`${address};first\n`);
    await waitUntil(() => logs.events.some((event) => event.event === 'access-log-backend-down'), WAIT_MS, 'the refusal');
    const sink = await collector({ port });
    for (let i = 0; i < 100; i++) await envoy.write(`${address};line ${i}\n`);
    await waitUntil(() => stats.bufferedBytes === 'first\n'.length + Array.from({ length: 100 }, (_, i) => `line ${i}\n`.length).reduce((a, b) => a + b), WAIT_MS, 'all lines buffered');
    await clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sink.connections, 0, 'no attempt before the second is up');
    await clock.advance(1);
    await waitUntil(() => sink.text().endsWith('line 99\n'), WAIT_MS, 'the buffered lines');
    assert.equal(sink.connections, 1);
    assert.ok(sink.text().startsWith('first\nline 0\n'));
  });

  it('gives up a connection that is not made within 5 s', async () => {
    const clock = new ManualClock();
    // A listener that never accepts, its queue (one connection) full: the next one hangs in SYN_SENT.
    const listener = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => void listener.kill('SIGKILL'));
    const port = Number((await once(listener.stdout!, 'data'))[0]);
    const filler = connect(port, '127.0.0.1').on('error', () => undefined);
    cleanups.push(() => void filler.destroy());
    await once(filler, 'connect');
    const { pipePath, logs, stats, stop } = await streamer({ clock });
    const envoy = await writer(pipePath);
    await envoy.write(`127.0.0.1:${port};waits\n`);
    await waitUntil(() => stats.bufferedBytes > 0, WAIT_MS, 'the line read');
    const down = () => logs.events.filter((event) => event.event === 'access-log-backend-down');
    await clock.advance(4999);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(down().length, 0, 'still trying before 5 s');
    await clock.advance(1);
    await waitUntil(() => down().length === 1, WAIT_MS, 'the attempt given up');
    // The stop's one second of flushing runs on this clock too: move it on until the stop is done.
    let stopped = false;
    void stop().then(() => (stopped = true));
    await waitUntil(async () => {
      await clock.advance(100);
      return stopped;
    }, WAIT_MS, 'the stop');
    assert.equal(stats.dropped, 1);
  });

  it('never stalls the pipe behind a backend that does not read', async () => {
    const sink = await collector({ stalled: true });
    const bufferBytes = 256 * KiB;
    const { pipePath, stats } = await streamer({ bufferBytes });
    const envoy = await writer(pipePath);
    const line = `${sink.address};${'s'.repeat(1000)}\n`;
    // 16 MiB: more than the kernel's socket buffers and the pipe hold together. Were the pipe not
    // read on, these writes would hang.
    const chunk = line.repeat(1024);
    for (let i = 0; i < 16; i++) await envoy.write(chunk);
    // Every line is sent (into the kernel's socket buffers), dropped, buffered, or in the one or
    // two writes of at most 64 KiB the connection holds.
    const total = 16 * 1024;
    const size = 1001; // the message: the line without its address
    const held = Math.floor(bufferBytes / size) + Math.ceil((2 * 64 * KiB) / size) + 2;
    await waitUntil(() => stats.sent + stats.dropped >= total - held, WAIT_MS, 'every line accounted for');
    assert.ok(stats.bufferedBytes <= bufferBytes, `${stats.bufferedBytes} bytes buffered`);
    assert.ok(stats.dropped > 0);
  });

  it('loses nothing when Envoy closes the pipe and a new Envoy opens it', async () => {
    const sink = await collector();
    const { pipePath, stats } = await streamer();
    let expected = '';
    for (let epoch = 0; epoch < 3; epoch++) {
      const envoy = await writer(pipePath);
      let input = '';
      for (let i = 0; i < 1000; i++) {
        input += `${sink.address};epoch ${epoch} line ${i}\n`;
        expected += `epoch ${epoch} line ${i}\n`;
      }
      await envoy.write(input);
      await envoy.close();
    }
    await received(sink, expected);
    assert.equal(stats.sent, 3000);
  });

  it('reconnects after the backend drops the connection', async () => {
    const sink = await collector();
    const { pipePath } = await streamer();
    const envoy = await writer(pipePath);
    await envoy.write(`${sink.address};before\n`);
    await received(sink, 'before\n');
    sink.dropConnections();
    await waitUntil(() => sink.open === 0, WAIT_MS, 'the connection closed');
    let expected = 'before\n';
    // The first line after the drop may be written before the agent sees the close; keep writing
    // until one comes through, then everything after it must arrive in order.
    for (let i = 0; sink.connections < 2; i++) {
      await envoy.write(`${sink.address};probe ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await envoy.write(`${sink.address};after\n`);
    await waitUntil(() => sink.text().endsWith('after\n'), WAIT_MS, 'the line after the reconnect');
    expected = sink.text();
    assert.match(expected, /^before\n(probe \d+\n)*after\n$/);
    assert.equal(sink.connections, 2);
  });

  it(`keeps at most ${MAX_BACKENDS} backends, closing the least recently used`, async () => {
    const sinks = await Promise.all(Array.from({ length: MAX_BACKENDS + 4 }, () => collector()));
    const { pipePath } = await streamer();
    const envoy = await writer(pipePath);
    for (const sink of sinks) await envoy.write(`${sink.address};hi\n`);
    await waitUntil(() => sinks.every((sink) => sink.text() === 'hi\n'), WAIT_MS, 'every backend got its line');
    await waitUntil(() => sinks.reduce((sum, sink) => sum + sink.open, 0) === MAX_BACKENDS, WAIT_MS, `${MAX_BACKENDS} connections open`);
    assert.deepEqual(sinks.map((sink) => sink.open), sinks.map((_, i) => (i < 4 ? 0 : 1)));
  });

  it('on stop sends what Envoy wrote last, drops an unfinished line, closes and removes the FIFO', async () => {
    const sink = await collector();
    const { pipePath, stats, stop } = await streamer();
    const envoy = await writer(pipePath);
    await envoy.write(`${sink.address};last words\n${sink.address};unfinished`);
    await envoy.close();
    await stop();
    assert.equal(sink.text(), 'last words\n');
    assert.equal(stats.dropped, 1);
    assert.equal(existsSync(pipePath), false);
    await waitUntil(() => sink.open === 0, WAIT_MS, 'the connection closed');
  });

  it('stops within about a second when a backend never comes up', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { pipePath, stats, stop } = await streamer();
    const envoy = await writer(pipePath);
    await envoy.write(`${address};never sent\n`);
    await waitUntil(() => stats.bufferedBytes > 0, WAIT_MS, 'the line buffered');
    const began = Date.now();
    await stop();
    assert.ok(Date.now() - began < 3000, `stopped in ${Date.now() - began}ms`);
    assert.equal(stats.dropped, 1);
    assert.equal(stats.bufferedBytes, 0);
  });

  it('refuses to read a pipe other users could open, or one that is not its own', async () => {
    const dir = tempDir('kuma-dp-al-');
    const open = path.join(dir, 'open.sock');
    execFileSync('mkfifo', ['-m', '666', open]);
    await assert.rejects(openFifo(open), /open to other users \(mode 666\)/);
    const readable = path.join(dir, 'readable.sock');
    execFileSync('mkfifo', ['-m', '640', readable]);
    await assert.rejects(openFifo(readable), /open to other users \(mode 640\)/);
    const file = path.join(dir, 'file.sock');
    writeFileSync(file, '');
    await assert.rejects(openFifo(file), /not a FIFO/);
    if (process.geteuid?.() === 0) {
      const theirs = path.join(dir, 'theirs.sock');
      execFileSync('mkfifo', ['-m', '600', theirs]);
      chownSync(theirs, 65534, 65534);
      await assert.rejects(openFifo(theirs), /owned by uid 65534/);
    }
    symlinkSync(open, path.join(dir, 'link.sock'));
    await assert.rejects(openFifo(path.join(dir, 'link.sock')), /ELOOP/);
  });
});

describe('access-log metrics', () => {
  it('reads the streamer\'s counts at each scrape', async () => {
    const stats = new AccessLogStats();
    const metrics = createAgentMetrics({ accessLogLines: stats });
    stats.sent = 5;
    stats.dropped = 2;
    const first = sampleValues(await metrics.text());
    assert.equal(first.get('kuma_dp_access_log_lines_total{result="sent"}'), 5);
    assert.equal(first.get('kuma_dp_access_log_lines_total{result="dropped"}'), 2);
    stats.sent = 9;
    assert.equal(sampleValues(await metrics.text()).get('kuma_dp_access_log_lines_total{result="sent"}'), 9);
    assert.ok(![...sampleValues(await createAgentMetrics().text()).keys()].some((name) => name.startsWith('kuma_dp_access_log')), 'none without a streamer');
  });
});

describe('access logs through the agent', () => {
  it('asks kuma-cp for named-pipe access logs and streams what Envoy writes, across an Envoy crash', async () => {
    const sink = await collector();
    const workDir = tempDir();
    const pipePath = accessLogPipePath(workDir, 'ratings-v1', 'bookinfo');
    const lines = [JSON.stringify({ address: sink.address, message: 'from envoy\n' }), `${sink.address};legacy`];
    // What kuma-cp's MeshAccessLog with a TCP backend makes Envoy do: log into the pipe.
    const scenario = path.join(tempDir(), 'scenario.json');
    writeScenario(scenario, { accessLog: { path: pipePath, lines } });
    const { agent, cp, adminPort } = await startDataplane(['--drain-time', '0s', '--envoy-restart-backoff', '100ms'], {
      KUMA_DATAPLANE_RUNTIME_CONFIG_DIR: workDir,
      FAKE_ENVOY_SCENARIO: scenario,
    });
    await received(sink, 'from envoy\nlegacy\n');
    assert.ok((cp.requests[0]!.body as { features: string[] }).features.includes(ACCESS_LOG_FEATURE));
    assert.ok(lstatSync(pipePath).isFIFO());

    // A crash: the new Envoy opens the same pipe and its lines come through the same streamer.
    await fetch(`http://127.0.0.1:${adminPort}/fake/crash?code=1`, { method: 'POST' }).catch(() => undefined);
    await received(sink, 'from envoy\nlegacy\n'.repeat(2), "the restarted Envoy's lines");
    assert.equal(sink.connections, 1, 'the connection to the backend outlived Envoy');
    // What Prometheus scrapes through Envoy's route to the metrics socket.
    const metrics = sampleValues((await unixGet(metricsSocketPath(workDir, 'ratings-v1', 'bookinfo'), '/metrics')).body);
    assert.equal(metrics.get('kuma_dp_access_log_lines_total{result="sent"}'), 4);
    assert.equal(metrics.get('kuma_dp_access_log_lines_total{result="dropped"}'), 0);

    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.equal(existsSync(pipePath), false, 'the pipe is gone');
    await waitUntil(() => sink.open === 0, WAIT_MS, 'the connection closed');
  });
});

describe('kuma-dp run without mkfifo', () => {
  it('refuses to start with one line, since Envoy would write its access logs to a plain file', async () => {
    const bin = tempDir('kuma-dp-path-');
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const result = await runAgent(['run', '--name', 'web'], { env: agentEnv({ PATH: bin }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'kuma-dp: mkfifo is not in PATH: kuma-dp makes the access-log pipe with it (install coreutils)\n');
  });
});

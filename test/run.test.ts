import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { asksForHelp } from '../src/cli/options.js';
import { agentEntry, agentEnv, runAgent, startAgent, tempDir, waitUntil, standInBin, isAlive } from './helpers/agent.js';
import { buildBootstrap } from '../stand-ins/bootstraps.js';
import { freePort, startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';
import { readStarts, type StartRecord } from '../stand-ins/envoy-records.js';
import { fakeEnvoyBin, repoRoot } from '../stand-ins/paths.js';

async function controlPlane(options: Parameters<typeof startControlPlane>[0]): Promise<ControlPlane> {
  const cp = await startControlPlane(options);
  const { after } = await import('node:test');
  after(() => cp.close());
  return cp;
}

/** A modern bootstrap whose admin port is a free one, so parallel tests do not clash. */
async function modernWithFreeAdmin(): Promise<{ yaml: string; port: number }> {
  const port = await freePort();
  return { yaml: buildBootstrap('modern', { adminPort: port }), port };
}

async function waitForStart(dir: string): Promise<StartRecord> {
  await waitUntil(() => readStarts(dir).length > 0, 10_000, 'Envoy to start');
  return readStarts(dir)[0]!;
}

function envFor(cp: ControlPlane, record: string, extra: Record<string, string> = {}) {
  return agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', KUMA_DATAPLANE_MESH: 'bookinfo', FAKE_ENVOY_RECORD_DIR: record, ...extra });
}

/** The lines of b that are not in a, and of a not in b. */
function lineDiff(a: string, b: string): { removed: string[]; added: string[] } {
  const left = a.split('\n');
  const right = b.split('\n');
  return { removed: left.filter((l) => !right.includes(l)), added: right.filter((l) => !left.includes(l)) };
}

describe('kuma-dp run against a modern control plane', () => {
  it('fetches the JSON envelope, overrides only the admin address and starts Envoy with the Go agent argv', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const record = tempDir();
    const adminPort = await freePort();
    const agent = startAgent(['run', '--admin-port', String(adminPort), '--drain-time', '2s', '--concurrency', '2'], { env: envFor(cp, record) });
    const envoy = await waitForStart(record);
    await agent.waitFor('envoy-live');

    const request = cp.requests[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/bootstrap');
    assert.equal(request.headers.accept, 'application/json');
    assert.equal(request.headers['content-type'], 'application/json');
    const body = request.body as Record<string, any>;
    assert.equal(body.mesh, 'bookinfo');
    assert.equal(body.name, 'ratings-v1');
    assert.equal(body.adminPort, adminPort);
    assert.equal(body.proxyType, 'dataplane');
    assert.equal(body.operatingSystem, 'linux');
    assert.ok(Array.isArray(body.features));
    assert.deepEqual(body.dynamicMetadata, {});
    assert.equal(typeof body.resources, 'object');
    assert.equal(body.version.envoy.version, '1.34.1');
    assert.equal(body.version.envoy.build, '50ea83e602d5da162df89fd5798301e22f5540cf/1.34.1/Clean/RELEASE/BoringSSL');
    assert.equal(body.version.envoy.kumaDpCompatible, true);
    assert.match(body.version.kumaDp.version, /^kuma-dp-node\/\d+\.\d+\.\d+/);

    const configPath = envoy.configPath!;
    assert.equal(path.basename(configPath), 'bootstrap.yaml');
    assert.equal(body.workdir, path.dirname(configPath));
    assert.deepEqual(envoy.argv, [
      '--config-path', configPath, '--drain-time-s', '2', '--drain-strategy', 'immediate',
      '--disable-hot-restart', '--log-level', 'info', '--concurrency', '2',
    ]);
    assert.equal(statSync(configPath).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(configPath)).mode & 0o777, 0o711, "the work dir: 0711 as Go kuma-dp makes it");

    // The admin address, and the node metadata kuma-cp reads it from, are the only changes to what the control plane sent.
    const diff = lineDiff(buildBootstrap('modern'), envoy.config!);
    assert.deepEqual(diff, {
      removed: ['      portValue: 1234', '    dataplane.admin.port: "1234"'],
      added: [`      portValue: ${adminPort}`, `    dataplane.admin.port: "${adminPort}"`],
    });
    const override = await agent.waitFor((l) => l.event === 'admin-address-set' && l.controlPlaneAdmin !== null);
    assert.equal(override.controlPlaneAdmin, '127.0.0.1:1234');

    // Every line is JSON with mesh and name; Envoy's lines are relayed one event each, with its pid.
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0);
    const raw = agent.stderr().trim().split('\n');
    assert.equal(raw.length, agent.lines.length, 'every stderr line is a JSON log event');
    for (const line of agent.lines) {
      assert.equal(line.mesh, 'bookinfo');
      assert.equal(line.name, 'ratings-v1');
    }
    const relayed = agent.lines.filter((l) => l.source === 'envoy');
    assert.ok(relayed.some((l) => String(l.msg).includes('starting main dispatch loop')));
    assert.ok(relayed.every((l) => l.envoyPid === envoy.pid));
    assert.ok(agent.lines.some((l) => l.event === 'envoy-started' && l.envoyPid === envoy.pid));
    assert.ok(!existsSync(path.dirname(configPath)), 'the private temp dir is removed on stop');
    assert.ok(!isAlive(envoy.pid), 'Envoy is stopped');
  });

  it("keeps the control plane's admin address byte for byte when no --admin-port is given", async () => {
    const { yaml, port } = await modernWithFreeAdmin();
    const cp = await controlPlane({ generation: 'modern', bootstrap: yaml });
    const record = tempDir();
    const agent = startAgent(['run', '--drain-time', '0s'], { env: envFor(cp, record) });
    const envoy = await waitForStart(record);
    assert.equal(envoy.config, yaml);
    assert.equal((cp.requests[0]!.body as Record<string, unknown>).adminPort, undefined);
    await agent.waitFor('envoy-live');
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(await ready.text(), 'LIVE\n', "the agent's Envoy serves admin on the CP's port");
    agent.kill('SIGINT');
    assert.equal((await agent.exited).code, 0);
  });

  it('flags win over environment variables, and the modern CP URL over the 0.x one', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const record = tempDir();
    const adminPort = await freePort();
    const env = envFor(cp, record, {
      KUMA_CONTROL_PLANE_URL: cp.url,
      KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL: 'http://127.0.0.1:1',
      KUMA_DATAPLANE_ADMIN_PORT: '1',
      KUMA_DATAPLANE_DRAIN_TIME: '7s',
    });
    const agent = startAgent(['run', '--admin-port', String(adminPort), '--mesh', 'other', '--envoy-component-log-level', 'upstream:debug'], { env });
    const envoy = await waitForStart(record);
    assert.equal((cp.requests[0]!.body as Record<string, unknown>).mesh, 'other');
    assert.equal((cp.requests[0]!.body as Record<string, unknown>).adminPort, adminPort);
    assert.deepEqual(envoy.argv.slice(2, 4), ['--drain-time-s', '7']);
    assert.ok(envoy.argv.join(' ').includes('--component-log-level upstream:debug --cpuset-threads'));
    agent.kill('SIGKILL');
    await agent.exited;
  });
});

describe('kuma-dp run against a 0.2 control plane', () => {
  it('takes the plain YAML answer and enforces --admin-port', async () => {
    const cp = await controlPlane({ generation: 'legacy' });
    const record = tempDir();
    const adminPort = await freePort();
    const agent = startAgent(['run', '--admin-port', String(adminPort), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL: cp.url, KUMA_DATAPLANE_NAME: 'dp-1', FAKE_ENVOY_RECORD_DIR: record }),
    });
    const envoy = await waitForStart(record);
    await agent.waitFor('envoy-live');
    const body = cp.requests[0]!.body as Record<string, unknown>;
    assert.deepEqual([body.mesh, body.name, body.adminPort], ['default', 'dp-1', adminPort]);
    const diff = lineDiff(buildBootstrap('legacy'), envoy.config!);
    assert.deepEqual(diff, {
      removed: ['      portValue: 9901'],
      added: [`      portValue: ${adminPort}`, '  metadata:', `    dataplane.admin.port: "${adminPort}"`, '    dataplane.admin.address: 127.0.0.1'],
    });
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('adds 127.0.0.1:9901 when the bootstrap has no admin block', async () => {
    const withoutAdmin = buildBootstrap('legacy', { adminPort: 0 });
    assert.ok(!withoutAdmin.includes('admin:'));
    const cp = await controlPlane({ generation: 'legacy', bootstrap: withoutAdmin });
    const record = tempDir();
    const agent = startAgent(['run', '--drain-time', '0s'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL: cp.url, KUMA_DATAPLANE_NAME: 'dp-1', FAKE_ENVOY_RECORD_DIR: record }),
    });
    const envoy = await waitForStart(record);
    const config = YAML.parse(envoy.config!) as Record<string, any>;
    assert.deepEqual(config.admin, { address: { socketAddress: { address: '127.0.0.1', portValue: 9901 } } });
    const { admin: _admin, node, ...rest } = config;
    const { node: sentNode, ...sentRest } = YAML.parse(withoutAdmin) as Record<string, any>;
    assert.deepEqual(rest, sentRest);
    // kuma-cp learns of the admin the agent added from the node metadata.
    assert.deepEqual(node, { ...sentNode, metadata: { 'dataplane.admin.port': '9901', 'dataplane.admin.address': '127.0.0.1' } });
    await agent.waitFor((l) => l.event === 'admin-address-set' && l.controlPlaneAdmin === null);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

describe('kuma-dp run retries what may heal and stops on what will not', () => {
  it('retries while the Dataplane is not found, saying how to create it, then starts', async () => {
    const cp = await controlPlane({ generation: 'modern', mode: 'not-found' });
    const record = tempDir();
    const agent = startAgent(['run', '--admin-port', String(await freePort()), '--drain-time', '0s'], { env: envFor(cp, record) });
    const retry = await agent.waitFor('bootstrap-retry');
    assert.match(String(retry.reason), /Dataplane entity not found.*--dataplane-file/);
    assert.equal(retry.attempt, 1);
    await agent.waitFor((l) => l.attempt === 2);
    cp.setMode('ok');
    await waitForStart(record);
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('retries 5xx and a control plane that is not up yet', async () => {
    const port = await freePort();
    const record = tempDir();
    const agent = startAgent(['run', '--cp-address', `http://127.0.0.1:${port}`, '--admin-port', String(await freePort()), '--drain-time', '0s'], {
      env: agentEnv({ KUMA_DATAPLANE_NAME: 'ratings-v1', FAKE_ENVOY_RECORD_DIR: record }),
    });
    const refused = await agent.waitFor('bootstrap-retry');
    assert.match(String(refused.reason), /ECONNREFUSED/);
    const cp = await controlPlane({ generation: 'modern', port, mode: { kind: 'fail-times', times: 2, status: 500 } });
    await waitForStart(record);
    assert.equal(cp.requests.length, 3);
    assert.ok(agent.lines.some((l) => /control plane answered 500/.test(String(l.reason))));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('gives up after the retry max duration with the last reason', async () => {
    const cp = await controlPlane({ generation: 'modern', mode: 'error' });
    const result = await runAgent(['run', '--admin-port', String(await freePort())], {
      env: envFor(cp, tempDir(), { KUMA_CONTROL_PLANE_RETRY_MAX_DURATION: '350ms' }),
    });
    assert.equal(result.code, 1);
    const fatal = result.lines.find((l) => l.level === 60)!;
    assert.match(fatal.msg, /gave up fetching the bootstrap .* after \d+ attempts: control plane answered 500/);
  });

  const fatalAnswers = [
    { mode: { kind: 'unprocessable', reason: 'token required' } as const, message: /^Invalid request: token required$/ },
    { mode: 'bad-request' as const, message: /^Invalid request: / },
    { mode: 'page-not-found' as const, message: /not kuma-cp's DP server.*--cp-address.*5678/ },
    { mode: 'garbage' as const, message: /not a valid Envoy bootstrap/ },
  ];
  for (const { mode, message } of fatalAnswers) {
    it(`exits 1 at once on ${typeof mode === 'string' ? mode : mode.kind}`, async () => {
      const cp = await controlPlane({ generation: 'modern', mode });
      const record = tempDir();
      const result = await runAgent(['run', '--admin-port', String(await freePort())], { env: envFor(cp, record) });
      assert.equal(result.code, 1);
      assert.equal(cp.requests.length, 1, 'no retry');
      assert.match(result.lines.find((l) => l.level === 60)!.msg, message);
      assert.equal(readStarts(record).length, 0, 'Envoy never started');
    });
  }
});

describe('kuma-dp run refuses bad input before anything starts', () => {
  const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; message: RegExp; code?: number }> = [
    { name: 'a missing name', args: ['run'], env: { KUMA_DATAPLANE_NAME: '' }, message: /missing name of the dataplane: pass --name or set KUMA_DATAPLANE_NAME/ },
    { name: 'a non-numeric admin port', args: ['run', '--admin-port', 'abc'], message: /invalid --admin-port "abc": expected a port number/ },
    { name: 'an admin port out of range', args: ['run', '--admin-port', '70000'], message: /invalid --admin-port "70000"/ },
    { name: 'an admin port from the environment', args: ['run'], env: { KUMA_DATAPLANE_ADMIN_PORT: '0' }, message: /invalid KUMA_DATAPLANE_ADMIN_PORT "0"/ },
    { name: 'an unknown duration', args: ['run', '--drain-time', 'soon'], message: /invalid --drain-time "soon": expected a duration/ },
    { name: 'a drain time longer than a timer can hold', args: ['run', '--drain-time', '600h'], message: /invalid --drain-time "600h": longer than kuma-dp can wait \(at most 596h/ },
    { name: 'a stop timeout longer than a timer can hold', args: ['run', '--envoy-stop-timeout', '99999999999999999999h'], message: /invalid --envoy-stop-timeout "99999999999999999999h": longer than kuma-dp can wait/ },
    { name: 'a retry backoff longer than a timer can hold', args: ['run'], env: { KUMA_CONTROL_PLANE_RETRY_BACKOFF: '600h' }, message: /invalid KUMA_CONTROL_PLANE_RETRY_BACKOFF "600h": longer than kuma-dp can wait/ },
    { name: 'a name that climbs out of a directory', args: ['run', '--name', '../../etc/x'], message: /^kuma-dp: invalid --name "\.\.\/\.\.\/etc\/x": kuma-cp accepts only lowercase letters, digits, '-' and '\.'/ },
    { name: 'a mesh with a slash', args: ['run', '--mesh', 'a/b'], message: /^kuma-dp: invalid --mesh "a\/b": kuma-cp accepts only lowercase letters, digits, '-', '_' and '\.'$/ },
    { name: 'a name with control characters, quoted harmlessly', args: ['run'], env: { KUMA_DATAPLANE_NAME: 'web\u001b[2J' }, message: /^kuma-dp: invalid KUMA_DATAPLANE_NAME "web\\u001b\[2J": kuma-cp accepts/ },
    { name: 'a name longer than kuma-cp allows', args: ['run', '--name', 'a'.repeat(254)], message: /^kuma-dp: invalid --name: longer than 253 characters$/ },
    { name: 'a repeated --name', args: ['run', '--name', 'a', '--name', 'b'], message: /^kuma-dp: --name is given 2 times: give it once$/ },
    { name: 'a concurrency past what Envoy reads', args: ['run', '--concurrency', '99999999999999999999'], message: /^kuma-dp: invalid --concurrency "99999999999999999999": expected a whole number from 0 to 4294967295$/ },
    { name: 'a bad retry backoff', args: ['run'], env: { KUMA_CONTROL_PLANE_RETRY_BACKOFF: '3 seconds' }, message: /invalid KUMA_CONTROL_PLANE_RETRY_BACKOFF/ },
    { name: 'a scheme other than http or https', args: ['run', '--cp-address', 'ftp://cp:5678'], message: /invalid --cp-address "ftp:\/\/cp:5678": scheme must be http or https/ },
    { name: 'an unknown proxy type', args: ['run', '--proxy-type', 'gateway'], message: /invalid --proxy-type "gateway": expected one of dataplane, ingress, egress/ },
    { name: 'a bad Envoy log level', args: ['run', '--envoy-log-level', 'loud'], message: /invalid --envoy-log-level "loud"/ },
    { name: 'a missing Envoy', args: ['run', '--binary-path', '/nonexistent/envoy'], message: /invalid --binary-path "\/nonexistent\/envoy": no executable Envoy found/ },
    { name: 'a missing Dataplane template', args: ['run', '--dataplane-file', '/nonexistent/dp.yaml'], message: /cannot read --dataplane-file \/nonexistent\/dp\.yaml: ENOENT/ },
    { name: 'the same port for readiness and admin', args: ['run', '--admin-port', '9950', '--readiness-port', '9950'], message: /invalid --readiness-port 9950: it is also the --admin-port/ },
    { name: 'a nonsense access-log buffer', args: ['run', '--access-log-buffer', '1MB'], message: /invalid --access-log-buffer "1MB": expected a size such as 512KiB/ },
    { name: 'an unknown flag', args: ['run', '--admin-prot', '9901'], message: /Unknown argument/, code: 2 },
  ];
  for (const { name, args, env, message, code } of cases) {
    it(`rejects ${name}`, async () => {
      const cp = await controlPlane({ generation: 'modern' });
      const result = await runAgent(args, { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'ratings-v1', ...env }) });
      assert.equal(result.code, code ?? 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, no stack trace: ${result.stderr}`);
      assert.match(lines[0]!, message);
      assert.equal(cp.requests.length, 0, 'no request sent');
      assert.ok(result.ms < 3000, `took ${result.ms}ms`);
    });
  }

  it('rejects an Envoy that is not executable', async () => {
    const dir = tempDir();
    const binary = path.join(dir, 'envoy');
    writeFileSync(binary, '#!/bin/sh\n');
    chmodSync(binary, 0o644);
    const result = await runAgent(['run', '--binary-path', binary], { env: agentEnv({ KUMA_DATAPLANE_NAME: 'x' }) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^kuma-dp: invalid --binary-path ".*envoy": no executable Envoy found/);
  });

  it('rejects an Envoy whose --version it cannot parse', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const result = await runAgent(['run'], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'x', FAKE_ENVOY_VERSION_OUTPUT: 'envoy version: something else' }),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^kuma-dp: invalid --binary-path ".*": `--version` did not print an Envoy version \(got "envoy version: something else"\)\n$/);
    assert.equal(cp.requests.length, 0);
  });

  it('refuses an admin port that another process holds, naming it', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await runAgent(['run', '--admin-port', String(port)], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'x' }) });
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `kuma-dp: admin port ${port} is already in use on 127.0.0.1: another dataplane on this host may hold it; give each dataplane its own --admin-port\n`);
      assert.equal(cp.requests.length, 0);
    } finally {
      holder.close();
    }
  });
});

describe('Envoy binary lookup', () => {
  it('finds envoy in the current directory when it is not in PATH', async () => {
    const cp = await controlPlane({ generation: 'modern' });
    const dir = tempDir();
    const record = tempDir();
    writeFileSync(path.join(dir, 'envoy'), `#!/bin/sh\nexec "${fakeEnvoyBin}" "$@"\n`, { mode: 0o755 });
    const env = envFor(cp, record, { PATH: path.dirname(process.execPath) + ':/usr/bin:/bin' });
    assert.ok(!env.PATH!.includes(standInBin));
    const agent = startAgent(['run', '--admin-port', String(await freePort()), '--drain-time', '0s'], { env, cwd: dir });
    const started = await agent.waitFor('dataplane-starting');
    assert.equal(started.envoy, path.join(dir, 'envoy'));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

describe('kuma-dp version and help', () => {
  it('prints its version as Go kuma-dp lays it out, and the build with --detailed', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const short = await runAgent(['version']);
    assert.equal(short.code, 0);
    assert.equal(short.stdout, `kuma-dp-node: ${version}\n`);
    for (const flag of ['--detailed', '-a']) {
      const detailed = await runAgent(['version', flag]);
      assert.equal(detailed.code, 0);
      const lines = detailed.stdout.split('\n');
      assert.deepEqual(lines.slice(0, 3), ['Product:       kuma-dp-node', `Version:       ${version}`, `Git Tag:       v${version}`]);
      // The bundle is stamped at build time: the checkout's commit and a UTC date.
      assert.match(lines[3]!, /^Git Commit:    ([0-9a-f]{40}|unknown)$/);
      assert.match(lines[4]!, /^Build Date:    \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.equal(lines.length, 6);
    }
  });

  it('documents every flag with its environment variable and the precedence', async () => {
    const result = await runAgent(['run', '--help']);
    assert.equal(result.code, 0);
    for (const text of ['--cp-address', 'KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL', '--admin-port', 'KUMA_DATAPLANE_ADMIN_PORT', 'Flags win over environment variables, which win over defaults']) {
      assert.ok(result.stdout.replace(/\s+/g, ' ').includes(text), text);
    }
  });

  it("asks for help only with --help among kuma-dp's own arguments, so that a run need not render its flags", () => {
    assert.equal(asksForHelp(['run', '--help']), true);
    assert.equal(asksForHelp(['run', '--name', 'x', '--help=true']), true);
    assert.equal(asksForHelp(['run', '--name', 'x']), false);
    assert.equal(asksForHelp(['run', '--name', 'x', '--', 'app', '--help']), false, "the app's own --help");
    assert.equal(asksForHelp(['run', '--name', '--help-me']), false);
  });

  it('lays out no help text on a start: nothing builds the Intl.Segmenter that wide characters need', () => {
    // Counts the Segmenters the process builds: string-width builds one as it loads (25-45 ms).
    const count = `data:text/javascript,const S=Intl.Segmenter;Intl.Segmenter=class extends S{constructor(...a){super(...a);process.stdout.write("SEGMENTER\\n")}}`;
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [`--import=${count}`, agentEntry, ...args], { encoding: 'utf8', env: agentEnv(env), timeout: 30_000 });
    const version = cli(['version']);
    assert.equal(version.status, 0, version.stderr);
    assert.doesNotMatch(version.stdout, /SEGMENTER/);
    // Past yargs (which then renders the command's help, to keep it) and into the run, where the flag value is refused.
    const run = cli(['run', '--name', 'x', '--admin-port', 'nope']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /--admin-port/);
    assert.doesNotMatch(run.stdout, /SEGMENTER/);
    // The counter sees a Segmenter when one is built.
    const probe = spawnSync(process.execPath, [`--import=${count}`, '-e', 'new Intl.Segmenter()'], { encoding: 'utf8' });
    assert.match(probe.stdout, /SEGMENTER/);
  });
});

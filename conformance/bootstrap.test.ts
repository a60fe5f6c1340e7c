// Every bootstrap kuma-cp's generator tests produce (pkg/xds/bootstrap/testdata, HEAD and v2.14.3),
// the 2.14+ default with the admin on a unix socket (derived/), and the bootstraps of Go kuma-dp's
// own tests (run-cmd/, request/), served both ways a control plane answers (the modern JSON envelope
// and 0.x's plain YAML), with and without --admin-port. Envoy's file must differ from what kuma-cp
// sent only where the agent must change it (the admin address and the node metadata that describes
// it), the metadata must describe the admin Envoy really has, and the agent must reach that admin.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { tryListen } from '../src/envoy/admin-port.js';
import { agentEnv, runAgent, startAgent, tempDir, waitUntil } from '../test/helpers/agent.js';
import { freePort, startControlPlane, type Generation } from '../stand-ins/control-plane.js';
import { readAdminLog, readStarts } from '../stand-ins/envoy-records.js';
import { fixture } from './shared.js';

type Json = Record<string, any>;
type Admin = { kind: 'tcp'; host: string; port: number } | { kind: 'pipe'; path: string };

interface Golden {
  readonly name: string;
  /** The bootstrap kuma-cp sends for a request with this work dir. */
  readonly text: (workdir: string) => string;
}

function goldens(): Golden[] {
  const list: Golden[] = [];
  const add = (dir: string[], filter: (name: string) => boolean) => {
    for (const name of readdirSync(fixture(...dir)).filter(filter).sort()) {
      const raw = readFileSync(fixture(...dir, name), 'utf8');
      list.push({ name: [...dir.slice(1), name].join('/'), text: (workdir) => raw.replaceAll('{{WORKDIR}}', workdir) });
    }
  };
  for (const version of ['head', 'v2.14.3']) {
    add(['conformance', 'bootstrap', version], (n) => n.endsWith('.yaml'));
    add(['conformance', 'run-cmd', version], (n) => n === 'bootstrap-config.golden.yaml');
    add(['conformance', 'request', version], (n) => n === 'remote-bootstrap-config.response.yaml');
  }
  add(['conformance', 'derived'], (n) => n.endsWith('.yaml'));
  return list;
}

function adminOf(doc: Json): Admin | undefined {
  const address = doc.admin?.address;
  const socket = address?.socketAddress ?? address?.socket_address;
  if (socket) return { kind: 'tcp', host: String(socket.address), port: Number(socket.portValue ?? socket.port_value) };
  return address?.pipe ? { kind: 'pipe', path: address.pipe.path } : undefined;
}

/**
 * kuma-cp's reading of the admin (pkg/core/xds/metadata.go) agrees with the admin in the same file.
 * A bootstrap whose admin the control plane chose and described nowhere (0.x, and Go kuma-dp's own
 * test fixtures) is kept as it is: nothing there tells kuma-cp otherwise.
 */
function assertMetadataAgrees(doc: Json, agentChoseAdmin: boolean): void {
  const admin = adminOf(doc);
  assert.ok(admin, 'Envoy has an admin');
  const metadata = (doc.node?.metadata ?? {}) as Json;
  if (!agentChoseAdmin && !Object.keys(metadata).some((key) => key.startsWith('dataplane.admin.'))) return;
  if (admin.kind === 'pipe') {
    assert.equal(metadata['dataplane.admin.socketPath'], admin.path, "kuma-cp's admin cluster goes to Envoy's socket");
    return;
  }
  assert.equal(metadata['dataplane.admin.port'], String(admin.port), "kuma-cp's admin cluster goes to Envoy's port");
  assert.equal(metadata['dataplane.admin.address'], admin.host);
  assert.equal(metadata['dataplane.admin.socketPath'], undefined, 'no socket path, which kuma-cp would prefer over the port');
}

/** The golden as the agent must make it: the admin on 127.0.0.1:port, described in the metadata. */
function withTcpAdmin(golden: Json, port: number): Json {
  const snake = 'static_resources' in golden || 'dynamic_resources' in golden;
  const copy = structuredClone(golden);
  copy.admin = { ...copy.admin, address: snake ? { socket_address: { address: '127.0.0.1', port_value: port } } : { socketAddress: { address: '127.0.0.1', portValue: port } } };
  copy.node ??= {};
  const { 'dataplane.admin.socketPath': _socket, ...metadata } = (copy.node.metadata ?? {}) as Json;
  copy.node.metadata = { ...metadata, 'dataplane.admin.port': String(port), 'dataplane.admin.address': '127.0.0.1' };
  return copy;
}

/** Lines of the golden's admin block and of its admin metadata: the only ones the agent may rewrite. */
function adminLines(text: string): Set<string> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === 'admin:');
  const block = start < 0 ? [] : lines.slice(start, lines.findIndex((l, i) => i > start && /^\S/.test(l)));
  return new Set([...block, ...lines.filter((l) => /^\s+dataplane\.admin\./.test(l))]);
}

/** What starting Envoy's admin there will meet on this machine: nothing, or why the agent must refuse. */
async function expectedRefusal(admin: Admin): Promise<RegExp | undefined> {
  if (admin.kind === 'pipe') return undefined;
  const error = await tryListen(admin.host, admin.port);
  if (!error) return undefined;
  return error.code === 'EADDRINUSE'
    ? new RegExp(`admin port ${admin.port} is already in use on ${admin.host.replaceAll('.', '\\.')}`)
    : new RegExp(`cannot use admin address ${admin.host.replaceAll('.', '\\.')}:${admin.port}: ${error.code}`);
}

const WAYS: ReadonlyArray<{ way: string; generation: Generation; urlVariable: string }> = [
  { way: 'JSON envelope', generation: 'modern', urlVariable: 'KUMA_CONTROL_PLANE_URL' },
  { way: 'plain YAML', generation: 'legacy', urlVariable: 'KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL' },
];

async function serve(golden: Golden, generation: Generation, urlVariable: string, adminPort: number | undefined): Promise<void> {
  const cp = await startControlPlane({ generation, bootstrap: (body) => golden.text(String(body.workdir)) });
  after(() => cp.close());
  const workdir = path.join(tempDir(), 'work');
  const sent = YAML.parse(golden.text(workdir)) as Json;
  const cpAdmin = adminOf(sent);
  const expectedAdmin: Admin = adminPort !== undefined ? { kind: 'tcp', host: '127.0.0.1', port: adminPort } : cpAdmin ?? { kind: 'tcp', host: '127.0.0.1', port: 9901 };
  const refusal = await expectedRefusal(expectedAdmin);
  const record = tempDir();
  const args = ['run', '--name', 'web', '--drain-time', '0s', '--work-dir', workdir, ...(adminPort === undefined ? [] : ['--admin-port', String(adminPort)])];
  // The readiness port is agentEnv's 0: one the system picks, which nothing else can have taken.
  const env = agentEnv({ [urlVariable]: cp.url, FAKE_ENVOY_RECORD_DIR: record });

  if (refusal) {
    const result = await runAgent(args, { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, refusal);
    assert.equal(readStarts(record).length, 0, 'no Envoy started');
    return;
  }

  const agent = startAgent(args, { env });
  try {
    await waitUntil(() => readStarts(record).length > 0 || agent.child.exitCode !== null, 15_000, 'Envoy to start');
    const start = readStarts(record)[0];
    if (!start && adminPort !== undefined && agent.stderr().includes(`admin port ${adminPort} is already in use`)) throw new PortTaken();
    assert.ok(start, `Envoy did not start: ${agent.stderr()}`);
    const file = start.configPath!;
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the bootstrap holds the token: owner only');
    const given = YAML.parse(start.config!) as Json;
    const text = golden.text(workdir);
    if (adminPort === undefined && cpAdmin) {
      assert.equal(start.config, text, "kuma-cp's bootstrap, byte for byte");
    } else {
      assert.deepEqual(given, withTcpAdmin(sent, expectedAdmin.kind === 'tcp' ? expectedAdmin.port : -1), 'only the admin and its metadata change');
      const kept = new Set(start.config!.split('\n'));
      const allowed = adminLines(text);
      for (const line of text.split('\n')) assert.ok(kept.has(line) || allowed.has(line), `kept as sent: ${JSON.stringify(line)}`);
    }
    assertMetadataAgrees(given, adminPort !== undefined || !cpAdmin);
    assert.deepEqual(adminOf(given), expectedAdmin);
    await waitUntil(() => readAdminLog(record).some((e) => e.method === 'GET' && e.path.startsWith('/ready')), 15_000, "the agent to reach Envoy's admin");
  } finally {
    agent.kill('SIGTERM');
  }
  assert.equal((await agent.exited).code, 0, agent.stderr());
}

/** Another process took the free port between the test's pick and the agent's bind. */
class PortTaken extends Error {}

/** A free port may be taken by a process of this busy machine before the agent binds it: pick another. */
async function withFreeAdminPort(run: (port: number) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

const all = goldens();

describe("Kuma's bootstraps as kuma-cp sends them (their own ports: one at a time)", () => {
  it('has all of them', () => assert.equal(all.length, 35));
  for (const golden of all) {
    for (const { way, generation, urlVariable } of WAYS) {
      it(`${golden.name}, ${way}`, () => serve(golden, generation, urlVariable, undefined));
    }
  }
});

describe("Kuma's bootstraps with --admin-port", { concurrency: 4 }, () => {
  for (const golden of all) {
    for (const { way, generation, urlVariable } of WAYS) {
      it(`${golden.name}, ${way}`, () => withFreeAdminPort((port) => serve(golden, generation, urlVariable, port)));
    }
  }
});

describe("a control plane that puts Envoy's admin on kuma-dp's readiness port", () => {
  it('is named as such (generator.custom-config-minimal-request-with-unified-resource-naming-feature-flag: 127.0.0.1:9902)', async () => {
    const golden = all.find((g) => g.name.includes('unified-resource-naming'))!;
    assert.deepEqual(adminOf(YAML.parse(golden.text('/tmp')) as Json), { kind: 'tcp', host: '127.0.0.1', port: 9902 });
    const cp = await startControlPlane({ generation: 'modern', bootstrap: golden.text('/tmp') });
    after(() => cp.close());
    const busy = await tryListen('127.0.0.1', 9902);
    // The default readiness port, unless this machine has it taken already (then that is the error).
    const result = await runAgent(['run', '--name', 'web'], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_READINESS_PORT: '9902' }) });
    assert.equal(result.code, 1);
    if (busy) {
      assert.match(result.stderr, /readiness port 9902 is already in use/);
      return;
    }
    assert.match(
      result.lines.find((l) => l.level === 60)?.msg ?? '',
      /^the control plane put Envoy's admin on 127\.0\.0\.1:9902, the port of kuma-dp's own readiness endpoint/,
    );
  });
});

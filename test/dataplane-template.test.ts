import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { parseTemplateVars } from '../src/config/parse.js';
import { loadDataplaneResource, renderDataplane } from '../src/bootstrap/template.js';
import { agentEntry, agentEnv, runAgent, startAgent, tempDir, waitUntil } from './helpers/agent.js';
import { freePort, startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';
import { readStarts } from '../stand-ins/envoy-records.js';
import { repoRoot } from '../stand-ins/paths.js';

const TEMPLATE = `type: Dataplane
mesh: {{mesh}}
name: reviews-{{ version }}
networking:
  address: {{ address }}
  inbound:
    - port: 9084
      servicePort: 8084
      tags: {kuma.io/service: reviews, version: "{{ version }}"}
`;

function userError(message: RegExp) {
  return (error: unknown) => error instanceof UserError && message.test(error.message);
}

describe('Dataplane templates: rendering and checks', () => {
  it('fills {{ key }} placeholders with and without spaces and sends the resource as JSON', () => {
    const rendered = renderDataplane(TEMPLATE, { mesh: 'bookinfo', version: 'v2', address: '10.0.0.7' }, 'test');
    assert.equal(rendered.name, 'reviews-v2');
    assert.equal(rendered.mesh, 'bookinfo');
    assert.deepEqual(JSON.parse(rendered.json), {
      type: 'Dataplane',
      mesh: 'bookinfo',
      name: 'reviews-v2',
      networking: {
        address: '10.0.0.7',
        inbound: [{ port: 9084, servicePort: 8084, tags: { 'kuma.io/service': 'reviews', version: 'v2' } }],
      },
    });
  });

  it('accepts JSON templates', () => {
    const json = '{"type": "Dataplane", "mesh": "default", "name": "{{ name }}", "networking": {"address": "{{ address }}"}}';
    const rendered = renderDataplane(json, { name: 'web', address: '::1' }, 'test');
    assert.equal(rendered.name, 'web');
    assert.equal(JSON.parse(rendered.json).networking.address, '::1');
  });

  it('names every placeholder without a value', () => {
    assert.throws(
      () => renderDataplane(TEMPLATE, { mesh: 'default' }, '--dataplane-file dp.yaml'),
      userError(/^--dataplane-file dp\.yaml: no value for \{\{ version \}\}, \{\{ address \}\}: pass -v version=\.\.\. -v address=\.\.\.$/),
    );
  });

  it('explains a Go-template style placeholder instead of failing on YAML', () => {
    assert.throws(() => renderDataplane('type: Dataplane\naddress: {{ .address }}\n', {}, 't'), userError(/"\{\{ \.address \}\}" is not a placeholder/));
  });

  it('rejects unparsable YAML, other resource types and resources without name or mesh', () => {
    assert.throws(() => renderDataplane('type: Dataplane\nname: [a\n', {}, 't'), userError(/^t: not valid YAML or JSON: /));
    assert.throws(() => renderDataplane('- a\n- b\n', {}, 't'), userError(/expected a Dataplane resource/));
    assert.throws(() => renderDataplane('type: Mesh\nname: a\nmesh: b\n', {}, 't'), userError(/type is "Mesh"; expected type: Dataplane/));
    assert.throws(() => renderDataplane('name: a\nmesh: b\n', {}, 't'), userError(/type is missing/));
    assert.throws(() => renderDataplane('type: Dataplane\nmesh: b\n', {}, 't'), userError(/the resource has no name/));
    assert.throws(() => renderDataplane('type: Dataplane\nname: a\nmesh: ""\n', {}, 't'), userError(/the resource has no mesh/));
  });

  it('parses -v key=value, keeping = in values, and rejects a pair without a key', () => {
    assert.deepEqual(parseTemplateVars(['address=10.0.0.1', 'tag=a=b', 'empty='], '--dataplane-var'), { address: '10.0.0.1', tag: 'a=b', empty: '' });
    assert.throws(() => parseTemplateVars(['address'], '--dataplane-var'), userError(/invalid --dataplane-var "address": expected key=value/));
    assert.throws(() => parseTemplateVars(['=x'], '--dataplane-var'), userError(/expected key=value/));
  });

  it('takes name and mesh from the resource; an explicit conflicting --name or --mesh is an error', () => {
    const inline = 'type: Dataplane\nname: web\nmesh: demo\n';
    const read = (file: string): string => {
      throw new UserError(`cannot read --dataplane-file ${file}: ENOENT`);
    };
    assert.equal(loadDataplaneResource({ read, inline, name: 'web', mesh: 'demo' })?.name, 'web');
    assert.throws(() => loadDataplaneResource({ read, inline, name: 'api' }), userError(/--name "api" conflicts with name "web"/));
    assert.throws(() => loadDataplaneResource({ read, inline, mesh: 'default' }), userError(/--mesh "default" conflicts with mesh "demo"/));
    assert.throws(() => loadDataplaneResource({ read, inline, file: 'x.yaml' }), userError(/either --dataplane or --dataplane-file/));
    assert.throws(() => loadDataplaneResource({ read, vars: { a: 'b' } }), userError(/--dataplane-var needs a template/));
    assert.equal(loadDataplaneResource({ read }), undefined);
    assert.throws(() => loadDataplaneResource({ read, file: '/nonexistent/dp.yaml' }), userError(/cannot read --dataplane-file \/nonexistent\/dp\.yaml: ENOENT/));
  });
});

describe('Dataplane templates a hostile or careless input can bring', () => {
  it('refuses YAML 1.1 tags such as !!binary, which have no JSON form kuma-cp would read as meant', () => {
    const base = 'type: Dataplane\nname: web\nmesh: demo\n';
    assert.throws(() => renderDataplane(`${base}networking: {address: !!binary MTAuMC4wLjc=}\n`, {}, 't'), userError(/^t: the YAML tag !!binary \(line 4, column 23\) is not allowed/));
    assert.throws(() => renderDataplane(`${base}tags: !!set {a: null}\n`, {}, 't'), userError(/^t: the YAML tag !!set /));
    assert.throws(() => renderDataplane(`${base}x: !custom v\n`, {}, 't'), userError(/^t: the YAML tag !custom /));
    assert.equal(JSON.parse(renderDataplane(`${base}port: !!str 9080\n`, {}, 't').json).port, '9080');
  });

  it('holds name and mesh to the rules kuma-cp applies', () => {
    assert.throws(() => renderDataplane('type: Dataplane\nname: ../../etc\nmesh: demo\n', {}, 't'), userError(/^invalid name in t "\.\.\/\.\.\/etc": kuma-cp accepts/));
    assert.throws(() => renderDataplane('type: Dataplane\nname: Web_1\nmesh: demo\n', {}, 't'), userError(/^invalid name in t "Web_1"/));
    assert.throws(() => renderDataplane('type: Dataplane\nname: web\nmesh: "a/b"\n', {}, 't'), userError(/^invalid mesh in t "a\/b"/));
    assert.equal(renderDataplane('type: Dataplane\nname: web-1.ns\nmesh: old_mesh\n', {}, 't').mesh, 'old_mesh');
  });

  it('refuses a template file over 1 MiB, a FIFO or a device, at once and with one line', async () => {
    const dir = tempDir();
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, `type: Dataplane\nname: web\nmesh: demo\nx: "${'x'.repeat(1024 * 1024)}"\n`);
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [file, reason] of [
      [big, 'larger than 1 MiB'],
      [fifo, 'not a regular file'],
      ['/dev/zero', 'not a regular file'],
    ]) {
      const result = await runAgent(['run', '-d', file!], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: 'http://127.0.0.1:1' }), timeoutMs: 10_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `kuma-dp: cannot read --dataplane-file ${file}: ${reason}\n`);
    }
  });
});

describe('templates/dataplanes: bookinfo on one host', () => {
  const dir = path.join(repoRoot, 'templates', 'dataplanes');
  const rendered = readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => {
      const resource = renderDataplane(readFileSync(path.join(dir, file), 'utf8'), { address: '192.168.0.10' }, file);
      return { file, resource, spec: JSON.parse(resource.json) as any };
    });

  it('has the six bookinfo dataplanes, each named after its file and needing only {{ address }}', () => {
    assert.deepEqual(rendered.map((r) => r.resource.name).sort(), ['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3']);
    for (const { file, resource, spec } of rendered) {
      assert.equal(`${resource.name}.yaml`, file);
      assert.equal(resource.mesh, 'default');
      assert.equal(spec.networking.address, '192.168.0.10');
      assert.equal(spec.networking.inbound.length, 1);
      assert.equal(spec.networking.inbound[0].tags.version, resource.name.split('-')[1]);
      assert.equal(spec.networking.inbound[0].tags['kuma.io/service'], resource.name.split('-')[0]);
    }
  });

  it('uses no port twice on the shared host', () => {
    const ports = rendered.flatMap(({ spec }) => [
      ...spec.networking.inbound.flatMap((i: any) => [i.port, i.servicePort]),
      ...spec.networking.outbound.map((o: any) => o.port),
    ]);
    assert.equal(new Set(ports).size, ports.length, `ports: ${ports.join(', ')}`);
  });

  it('wires productpage to details and reviews, and every reviews to ratings', () => {
    const outbound = (name: string) =>
      rendered.find((r) => r.resource.name === name)!.spec.networking.outbound.map((o: any) => o.tags['kuma.io/service']).sort();
    assert.deepEqual(outbound('productpage-v1'), ['details', 'reviews']);
    for (const v of ['v1', 'v2', 'v3']) assert.deepEqual(outbound(`reviews-${v}`), ['ratings']);
    assert.deepEqual(outbound('details-v1'), []);
    assert.deepEqual(outbound('ratings-v1'), []);
  });
});

describe('kuma-dp run with a Dataplane template', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ generation: 'modern', dataplanes: ['reviews-v2', 'ratings-v1', 'web'] });
  });
  after(() => cp.close());

  const requestsFor = (name: string) => cp.requests.filter((r) => (r.body as { name?: string }).name === name);

  it('renders -d with -v values and sends it as dataplaneResource; name and mesh come from it', async () => {
    const record = tempDir();
    const agent = startAgent(
      ['run', '-d', path.join(repoRoot, 'templates', 'dataplanes', 'reviews-v2.yaml'), '-v', 'address=127.0.0.1', '--drain-time', '0s', '--admin-port', String(await freePort())],
      { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }) },
    );
    await waitUntil(() => readStarts(record).length > 0, 10_000, 'Envoy to start');
    const body = requestsFor('reviews-v2')[0]!.body as Record<string, unknown>;
    assert.equal(body.mesh, 'default');
    const resource = JSON.parse(body.dataplaneResource as string);
    assert.equal(resource.name, 'reviews-v2');
    assert.equal(resource.networking.address, '127.0.0.1');
    assert.deepEqual(resource.networking.outbound, [{ port: 10004, tags: { 'kuma.io/service': 'ratings' } }]);
    agent.kill();
    await agent.exited;
  });

  it('reads the template from stdin with -d -', async (t) => {
    const record = tempDir();
    const child = spawn(process.execPath, [agentEntry, 'run', '-d', '-', '-v', 'address=127.0.0.1', '--drain-time', '0s', '--admin-port', String(await freePort())], {
      env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, FAKE_ENVOY_RECORD_DIR: record }),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    t.after(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    child.stdin!.end(readFileSync(path.join(repoRoot, 'templates', 'dataplanes', 'ratings-v1.yaml')));
    await waitUntil(() => readStarts(record).length > 0, 10_000, 'Envoy to start');
    assert.equal(JSON.parse((requestsFor('ratings-v1')[0]!.body as { dataplaneResource: string }).dataplaneResource).name, 'ratings-v1');
  });

  it('takes an inline template from KUMA_DATAPLANE_RUNTIME_RESOURCE', async () => {
    const record = tempDir();
    const agent = startAgent(['run', '--drain-time', '0s', '--admin-port', String(await freePort()), '-v', 'port=7070'], {
      env: agentEnv({
        KUMA_CONTROL_PLANE_URL: cp.url,
        FAKE_ENVOY_RECORD_DIR: record,
        KUMA_DATAPLANE_RUNTIME_RESOURCE: '{"type":"Dataplane","mesh":"default","name":"web","networking":{"address":"127.0.0.1","inbound":[{"port":{{port}},"tags":{"kuma.io/service":"web"}}]}}',
      }),
    });
    await waitUntil(() => readStarts(record).length > 0, 10_000, 'Envoy to start');
    const resource = JSON.parse((requestsFor('web')[0]!.body as { dataplaneResource: string }).dataplaneResource);
    assert.equal(resource.networking.inbound[0].port, 7070);
    agent.kill();
    await agent.exited;
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['a placeholder without a value', [], /no value for \{\{ address \}\}: pass -v address=\.\.\./],
    ['a --name that contradicts the resource', ['-v', 'address=1.2.3.4', '--name', 'reviews-v3'], /--name "reviews-v3" conflicts with name "reviews-v2"/],
    ['a malformed -v', ['-v', 'address'], /invalid --dataplane-var "address": expected key=value/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} at once, sending nothing`, async () => {
      const sent = cp.requests.length;
      const result = await runAgent(['run', '-d', path.join(repoRoot, 'templates', 'dataplanes', 'reviews-v2.yaml'), ...args], {
        env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.equal(cp.requests.length, sent);
    });
  }

  it('refuses a resource that is not a Dataplane', async () => {
    const file = path.join(tempDir(), 'mesh.yaml');
    writeFileSync(file, 'type: Mesh\nname: default\nmesh: default\n');
    const sent = cp.requests.length;
    const result = await runAgent(['run', '--dataplane-file', file], { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url }) });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `kuma-dp: --dataplane-file ${file}: type is "Mesh"; expected type: Dataplane\n`);
    assert.equal(cp.requests.length, sent);
  });
});

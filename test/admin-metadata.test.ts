import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { adminPortDisagreement, applyAdminAddress } from '../src/bootstrap/admin-address.js';

// Bootstraps in the shapes kuma-cp sends (CONTRACTS.md §1, §3): a TCP admin with its metadata, the
// 2.14+ admin on a unix socket, and one with no admin at all.
const tcp = `admin:
  address:
    socketAddress:
      address: 127.0.0.1
      portValue: 1234
hdsConfig:
  apiType: GRPC
node:
  id: mesh.name
  metadata:
    dataplane.admin.address: 127.0.0.1
    dataplane.admin.port: "1234"
    dataplane.proxyType: dataplane
    workdir: /tmp/w
`;

const pipe = `admin:
  address:
    pipe:
      mode: 384
      path: /tmp/w/kuma-envoy-admin.sock
node:
  id: mesh.name
  metadata:
    dataplane.admin.address: 127.0.0.1
    dataplane.admin.port: "9901"
    dataplane.admin.socketPath: /tmp/w/kuma-envoy-admin.sock
    workdir: /tmp/w
`;

const none = `node:
  id: mesh.name
  metadata:
    workdir: /tmp/w
`;

const parse = (yaml: string) => YAML.parse(yaml) as { admin?: any; node: { metadata?: Record<string, unknown> } };

describe('the node metadata kuma-cp reads the admin from follows the admin Envoy gets', () => {
  it('moves dataplane.admin.port with --admin-port and leaves every other byte alone', () => {
    const rewrite = applyAdminAddress(tcp, 9913);
    assert.deepEqual(parse(rewrite.yaml).admin.address, { socketAddress: { address: '127.0.0.1', portValue: 9913 } });
    assert.equal(rewrite.yaml, tcp.replace('portValue: 1234', 'portValue: 9913').replace('port: "1234"', 'port: "9913"'));
  });

  it('leaves a kept parsed bootstrap as it was: the next restart rewrites it afresh', () => {
    const kept = YAML.parseDocument(tcp);
    const first = applyAdminAddress(tcp, 9913, kept);
    assert.equal(kept.toString(), YAML.parseDocument(tcp).toString());
    assert.equal(applyAdminAddress(tcp, 9914, kept).yaml, tcp.replace('portValue: 1234', 'portValue: 9914').replace('port: "1234"', 'port: "9914"'));
    assert.equal(applyAdminAddress(tcp, 9913, kept).yaml, first.yaml);
    assert.equal(applyAdminAddress(tcp, 1234, kept).yaml, tcp);
  });

  it('drops the socket path when a unix-socket admin becomes TCP: kuma-cp would prefer the socket', () => {
    const rewrite = applyAdminAddress(pipe, 9913);
    const doc = parse(rewrite.yaml);
    assert.deepEqual(doc.admin.address, { socketAddress: { address: '127.0.0.1', portValue: 9913 } });
    assert.deepEqual(doc.node.metadata, { 'dataplane.admin.address': '127.0.0.1', 'dataplane.admin.port': '9913', workdir: '/tmp/w' });
    assert.deepEqual(rewrite.replaced, { kind: 'pipe', path: '/tmp/w/kuma-envoy-admin.sock' });
  });

  it('describes the admin it adds to a bootstrap that had none, metadata map or not', () => {
    for (const yaml of [none, 'node:\n  id: mesh.name\n', 'static_resources: {}\n']) {
      const doc = parse(applyAdminAddress(yaml, undefined).yaml);
      assert.equal(doc.node.metadata!['dataplane.admin.port'], '9901');
      assert.equal(doc.node.metadata!['dataplane.admin.address'], '127.0.0.1');
    }
    const snake = parse(applyAdminAddress('static_resources: {}\n', 9913).yaml);
    assert.deepEqual(snake.admin.address, { socket_address: { address: '127.0.0.1', port_value: 9913 } });
  });

  it('keeps the control plane’s admin and metadata byte for byte when it stands', () => {
    for (const [yaml, port] of [[tcp, undefined], [tcp, 1234], [pipe, undefined]] as const) {
      const rewrite = applyAdminAddress(yaml, port);
      assert.equal(rewrite.yaml, yaml);
      assert.equal(rewrite.replaced, undefined);
    }
  });

  it('splices its edits into what kuma-cp wrote: block scalars and every other line stay as they were', () => {
    const withResource = tcp.replace(
      '    dataplane.proxyType: dataplane\n',
      '    dataplane.proxyType: dataplane\n    dataplane.resource: |2-\n\n      {\n        "type": "Dataplane"\n      }\n',
    );
    const rewrite = applyAdminAddress(withResource, 9913);
    assert.equal(rewrite.yaml, withResource.replace('portValue: 1234', 'portValue: 9913').replace('port: "1234"', 'port: "9913"'));
    const piped = applyAdminAddress(pipe.replace('    workdir: /tmp/w\n', '    workdir: /tmp/w\nstaticResources:\n  clusters:\n  - name: a\n'), 9913);
    assert.equal(
      piped.yaml,
      'admin:\n  address:\n    socketAddress:\n      address: 127.0.0.1\n      portValue: 9913\nnode:\n  id: mesh.name\n  metadata:\n' +
        '    dataplane.admin.address: 127.0.0.1\n    dataplane.admin.port: "9913"\n    workdir: /tmp/w\nstaticResources:\n  clusters:\n  - name: a\n',
    );
  });

  it('prints the document anew where kuma-cp wrote flow-style maps, with the same meaning', () => {
    const flow = 'admin: {address: {socketAddress: {address: 127.0.0.1, portValue: 1234}}}\nnode: {id: mesh.name, metadata: {dataplane.admin.port: "1234"}}\n';
    const doc = parse(applyAdminAddress(flow, 9913).yaml);
    assert.deepEqual(doc.admin.address.socketAddress, { address: '127.0.0.1', portValue: 9913 });
    assert.deepEqual(doc.node.metadata, { 'dataplane.admin.port': '9913', 'dataplane.admin.address': '127.0.0.1' });
  });

  it("writes the port as kuma-cp does, a string, which kuma-cp's metadata parser requires", () => {
    assert.match(applyAdminAddress(none, 9913).yaml, /dataplane\.admin\.port: "9913"/);
  });
});

describe("the Dataplane's own admin port (HDS, kuma-cp's admin client)", () => {
  it('names what still reads kuma-cp’s port when --admin-port moved the admin away from it', () => {
    const message = adminPortDisagreement(applyAdminAddress(tcp, 9913), 9913)!;
    assert.match(message, /kuma-cp chose admin port 1234 for this Dataplane/);
    assert.match(message, /health checks \(HDS: every inbound would be reported unhealthy\)/);
    assert.match(message, /set networking\.admin\.port: 9913 in the Dataplane resource, or drop --admin-port$/);
  });

  it('leaves HDS out where kuma-cp does not health-check, and says a unix socket cannot clash', () => {
    const message = adminPortDisagreement(applyAdminAddress(pipe, 9913), 9913)!;
    assert.match(message, /chose admin port 9901/);
    assert.doesNotMatch(message, /HDS/);
    assert.match(message, /unix socket in the work dir, which cannot clash/);
  });

  it('is silent when kuma-cp chose the same port, or chose none', () => {
    assert.equal(adminPortDisagreement(applyAdminAddress(tcp, 1234), 1234), undefined);
    assert.equal(adminPortDisagreement(applyAdminAddress(none, 9913), 9913), undefined);
    assert.equal(adminPortDisagreement(applyAdminAddress(pipe, undefined), undefined), undefined);
  });
});

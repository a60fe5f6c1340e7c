import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { writeScenario, type BoundService } from '../stand-ins/scenario.js';
import { agentEnv, envoyWith, isAlive, startAgent, tempDir, waitUntil } from './helpers/agent.js';
import { addressesOf, queryTcp, resolves, vip } from './helpers/dns.js';

const USER_HOSTS = '127.0.0.1\tlocalhost\n';


/** Sockets bound on this local port, from the kernel's own table (IPv4 and IPv6). */
function boundSockets(protocol: 'udp' | 'tcp', port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]
    .filter((file) => existsSync(file))
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
    .filter((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      // TCP: only the listening socket (0A), not connections a query left behind.
      return local?.endsWith(hex) && (protocol === 'udp' || state === '0A');
    }).length;
}

/** The stand-in Envoy with its own bind-outbounds scenario: the environment is the agent's, shared by the fleet. */
function envoyWithScenario(dir: string, name: string, services: BoundService[]): string {
  const scenario = path.join(dir, `${name}.json`);
  writeScenario(scenario, { bindOutbounds: { mesh: 'bookinfo', services } });
  return envoyWith(dir, name, { FAKE_ENVOY_SCENARIO: scenario });
}

describe('fleet mode: one DNS proxy for the host', () => {
  it('answers the names of every dataplane on one port, and drops a removed dataplane\'s names', async () => {
    const cp = await startControlPlane({ generation: 'modern' });
    after(() => cp.close());
    const dir = tempDir('kuma-dp-fleet-dns-');
    const tools = tempDir();
    const hostsFile = path.join(tempDir(), 'hosts');
    writeFileSync(hostsFile, USER_HOSTS);
    const [hostPort, dnsPort, productAdmin, reviewsAdmin] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const details: BoundService = { kind: 'msvc', name: 'details', vip: vip(), ports: [{ port: 9080 }] };
    const ratings: BoundService = { kind: 'msvc', name: 'ratings', vip: vip(), ports: [{ port: 9080 }] };
    const write = (file: string, text: string) => {
      writeFileSync(path.join(dir, file), text);
      chmodSync(path.join(dir, file), 0o644);
    };
    write('productpage.yaml', `name: productpage-v1\nmesh: bookinfo\nadmin-port: ${productAdmin}\nbinary-path: ${envoyWithScenario(tools, 'productpage', [details])}\n`);
    write('reviews.yaml', `name: reviews-v1\nmesh: bookinfo\nadmin-port: ${reviewsAdmin}\nbinary-path: ${envoyWithScenario(tools, 'reviews', [ratings])}\n`);
    const agent = startAgent(
      ['run', '--dataplanes-dir', dir, '--drain-time', '0s', '--bind-outbounds', '--hosts-file', hostsFile, '--dns-proxy-port', String(dnsPort)],
      { env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_READINESS_PORT: String(hostPort) }) },
    );
    after(() => {
      if (agent.child.exitCode === null) agent.kill('SIGKILL');
    });

    // Both dataplanes ask kuma-cp as one that runs alone would: the DNS port and the embedded DNS.
    for (const name of ['productpage-v1', 'reviews-v1']) {
      const request = (await cp.waitForRequest((r) => (r.body as { name?: string }).name === name, 20_000)).body as { dnsPort?: number; features: string[] };
      assert.equal(request.dnsPort, dnsPort, name);
      assert.ok(request.features.includes('feature-embedded-dns'), name);
      assert.ok(request.features.includes('feature-bind-outbounds'), name);
    }

    await waitUntil(async () => (await resolves('details.svc.mesh.local', dnsPort)).length > 0 && (await resolves('ratings.svc.mesh.local', dnsPort)).length > 0, 20_000, 'both names over DNS');
    assert.deepEqual(await resolves('details.svc.mesh.local', dnsPort), [details.vip]);
    assert.deepEqual(await resolves('ratings.svc.mesh.local', dnsPort), [ratings.vip]);
    assert.deepEqual(addressesOf(await queryTcp('ratings.svc.mesh.local', 'A', dnsPort)), [ratings.vip]);
    assert.equal(boundSockets('udp', dnsPort), 1, 'one UDP socket on the DNS port');
    assert.equal(boundSockets('tcp', dnsPort), 1, 'one TCP listener on the DNS port');
    assert.equal(agent.lines.filter((line) => line.msg === 'DNS proxy listening').length, 1);
    await waitUntil(() => /details\.svc/.test(readFileSync(hostsFile, 'utf8')) && /ratings\.svc/.test(readFileSync(hostsFile, 'utf8')), 15_000, 'both hosts-file blocks');

    // Removing one file takes its names away; the other dataplane's still answer.
    rmSync(path.join(dir, 'productpage.yaml'));
    await waitUntil(async () => (await resolves('details.svc.mesh.local', dnsPort)).length === 0, 20_000, 'details gone from DNS');
    assert.deepEqual(await resolves('ratings.svc.mesh.local', dnsPort), [ratings.vip]);
    await waitUntil(() => !/details\.svc/.test(readFileSync(hostsFile, 'utf8')), 15_000, "productpage's hosts-file block gone");
    assert.match(readFileSync(hostsFile, 'utf8'), /ratings\.svc/);
    assert.equal(boundSockets('udp', dnsPort), 1);

    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.equal(boundSockets('udp', dnsPort), 0, 'the port is free once the last dataplane stopped');
    assert.equal(readFileSync(hostsFile, 'utf8'), USER_HOSTS);
    assert.ok(agent.pid > 0 && !isAlive(agent.pid));
  });
});

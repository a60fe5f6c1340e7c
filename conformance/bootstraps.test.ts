// Kuma's golden bootstraps against what the project builds for its own tests
// (stand-ins/bootstraps.ts), and against the agent: the admin address (and the node metadata that
// describes it) is all it may change.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildBootstrap, DEFAULT_ADMIN_PORT, type BootstrapGeneration } from '../stand-ins/bootstraps.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { readStarts } from '../stand-ins/envoy-records.js';
import { agentEnv, startAgent, tempDir, waitUntil } from '../test/helpers/agent.js';
import { kumaBootstrap } from './shared.js';

const golden: Record<BootstrapGeneration, string> = {
  modern: readFileSync(kumaBootstrap('modern-bootstrap.yaml'), 'utf8'),
  legacy: readFileSync(kumaBootstrap('v0.2-bootstrap.yaml'), 'utf8'),
};

type Tree = Record<string, any>;
const at = (tree: Tree, path: string): unknown => path.split('/').reduce<any>((node, key) => node?.[key], tree);

/** The lines of b that are not in a, and of a not in b. */
function lineDiff(a: string, b: string): { removed: string[]; added: string[] } {
  const left = a.split('\n');
  const right = b.split('\n');
  return { removed: left.filter((l) => !right.includes(l)), added: right.filter((l) => !left.includes(l)) };
}

describe("the project's built bootstraps match Kuma's golden ones where the agent and the fake Envoy look", () => {
  for (const generation of ['modern', 'legacy'] as const) {
    it(generation, () => {
      const real = parseYaml(golden[generation]) as Tree;
      const built = parseYaml(buildBootstrap(generation)) as Tree;
      const paths = [
        'admin/address/socketAddress/address',
        'admin/address/socketAddress/portValue',
        'admin/accessLogPath',
        'dynamicResources/adsConfig/apiType',
        'dynamicResources/adsConfig/grpcServices/0/initialMetadata/0/key',
        'dynamicResources/cdsConfig/initialFetchTimeout',
        'node/metadata/dataplane.admin.address',
        'node/metadata/dataplane.admin.port',
      ];
      for (const path of paths) assert.deepEqual(at(built, path), at(real, path), path);
      // The ADS cluster the gRPC service names exists, of the same kind, reaching the CP by socket address.
      const ads = (tree: Tree) => {
        const name = at(tree, 'dynamicResources/adsConfig/grpcServices/0/envoyGrpc/clusterName');
        return (at(tree, 'staticResources/clusters') as Tree[]).find((cluster) => cluster.name === name)!;
      };
      assert.equal(ads(built).type, ads(real).type);
      const endpoint = 'loadAssignment/endpoints/0/lbEndpoints/0/endpoint/address/socketAddress/portValue';
      assert.equal(at(ads(built), endpoint), at(ads(real), endpoint));
      assert.equal(at(real, 'admin/address/socketAddress/portValue'), DEFAULT_ADMIN_PORT[generation]);
      assert.deepEqual(Object.keys(built).sort(), Object.keys(real).filter((key) => key in built).sort());
      for (const key of ['admin', 'dynamicResources', 'node', 'staticResources']) assert.ok(key in built, key);
    });
  }
});

describe("kuma-dp changes only the admin address of a real control plane's bootstrap, and the node metadata that describes it", () => {
  for (const generation of ['modern', 'legacy'] as const) {
    it(generation, async () => {
      const cp = await startControlPlane({ generation, bootstrap: golden[generation] });
      after(() => cp.close());
      const record = tempDir();
      const adminPort = await freePort();
      const agent = startAgent(['run', '--admin-port', String(adminPort), '--drain-time', '0s'], {
        env: agentEnv({ KUMA_CONTROL_PLANE_URL: cp.url, KUMA_DATAPLANE_NAME: 'dp-1', FAKE_ENVOY_RECORD_DIR: record }),
      });
      await waitUntil(() => readStarts(record).length > 0, 10_000, 'Envoy to start');
      const diff = lineDiff(golden[generation], readStarts(record)[0]!.config!);
      const port = DEFAULT_ADMIN_PORT[generation];
      assert.deepEqual(
        diff,
        generation === 'modern'
          ? { removed: [`      portValue: ${port}`, `    dataplane.admin.port: "${port}"`], added: [`      portValue: ${adminPort}`, `    dataplane.admin.port: "${adminPort}"`] }
          : // 0.2's bootstrap has no metadata: the agent adds what kuma-cp reads the admin from.
            { removed: [`      portValue: ${port}`], added: [`      portValue: ${adminPort}`, '  metadata:', `    dataplane.admin.port: "${adminPort}"`, '    dataplane.admin.address: 127.0.0.1'] },
      );
      await agent.waitFor('envoy-live');
      agent.kill('SIGTERM');
      assert.equal((await agent.exited).code, 0);
    });
  }
});

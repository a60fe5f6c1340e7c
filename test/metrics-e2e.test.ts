// kuma-dp run, as shipped, with its metrics socket: the fake kuma-cp gives it an app to aggregate,
// the fake Envoy serves stats and (from its scenario) MeshMetric's dynamic configuration.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { metricsSocketPath } from '../src/dataplane/sockets.js';
import { freePort, startControlPlane } from '../stand-ins/control-plane.js';
import { startMetricsApp } from '../stand-ins/metrics-app.js';
import { writeScenario } from '../stand-ins/scenario.js';
import { agentEnv, startAgent, tempDir, waitUntil } from './helpers/agent.js';
import { sampleValues } from './helpers/metrics.js';
import { unixGet } from './helpers/unix-http.js';

async function metricValues(socket: string, urlPath = '/metrics'): Promise<Map<string, number>> {
  const answer = await unixGet(socket, urlPath);
  assert.equal(answer.status, 200);
  return sampleValues(answer.body);
}

async function runDataplane(extraArgs: string[] = []) {
  const app = await startMetricsApp({ requests: 11 });
  after(() => app.close());
  const cp = await startControlPlane({
    generation: 'modern',
    kumaSidecarConfiguration: { networking: { address: '127.0.0.1' }, metrics: { aggregate: [{ name: 'app', address: '127.0.0.1', port: app.port, path: '/metrics' }] } },
  });
  after(() => cp.close());
  const workDir = tempDir();
  const scenario = path.join(tempDir(), 'scenario.json');
  writeScenario(scenario, {
    dynamicConfig: {
      '/meshmetric': {
        observability: {
          metrics: {
            applications: [{ path: '/metrics', port: app.port, address: '' }],
            backends: [{ type: 'Prometheus', name: null }],
            sidecar: { profiles: { appendProfiles: [{ name: 'None' }], include: [{ type: 'Exact', match: 'envoy_server_live' }] } },
            extraLabels: { 'kuma.proxy_role': 'sidecar', mesh: 'default' },
          },
        },
      },
    },
  });
  const adminPort = await freePort();
  const agent = startAgent(
    ['run', '--admin-port', String(adminPort), '--work-dir', workDir, '--drain-time', '0s', '--envoy-restart-backoff', '100ms', ...extraArgs],
    {
      env: agentEnv({
        KUMA_CONTROL_PLANE_URL: cp.url,
        KUMA_DATAPLANE_NAME: 'backend',
        FAKE_ENVOY_SCENARIO: scenario,
        KUMA_DATAPLANE_RUNTIME_DYNAMIC_CONFIGURATION_REFRESH_INTERVAL: '200ms',
      }),
    },
  );
  await agent.waitFor('envoy-live', 20_000);
  return { agent, cp, adminPort, socket: metricsSocketPath(workDir, 'backend', 'default') };
}

describe('kuma-dp run serves metrics', () => {
  it("merges Envoy's and the app's metrics with its own, and a crash shows in kuma_dp_envoy_restarts_total", async () => {
    const { agent, cp, adminPort, socket } = await runDataplane();
    const before = await metricValues(socket);
    assert.equal(before.get('app_requests_total{route="/"}'), 11);
    assert.equal(before.get('envoy_cluster_upstream_rq_total{envoy_cluster_name="redis_kuma-demo_svc_6379",kuma_io_mesh_traffic="true"}'), 203);
    assert.equal(before.get('envoy_cluster_upstream_rq_total{envoy_cluster_name="kuma_ads"}'), 1, "the bootstrap's ADS cluster (kuma:ads), not mesh traffic");
    assert.equal(before.get('kuma_dp_envoy_restarts_total'), 0);
    assert.equal(before.get('kuma_dp_envoy_up'), 1);
    assert.equal(before.get('kuma_dp_envoy_live'), 1);
    assert.equal(before.get('kuma_dp_readiness_state{state="READY"}'), 1);
    assert.equal(before.get('kuma_dp_bootstrap_requests_total{result="ok"}'), 1);
    assert.equal(before.get('kuma_dp_bootstrap_request_duration_seconds_count'), 1);

    await fetch(`http://127.0.0.1:${adminPort}/fake/crash?signal=SIGSEGV`, { method: 'POST' });
    await agent.waitFor((line) => line.event === 'envoy-live' && agent.lines.some((l) => l.event === 'envoy-crashed'), 20_000);
    await waitUntil(async () => (await metricValues(socket)).get('kuma_dp_envoy_live') === 1, 10_000, 'the new Envoy live');
    const after = await metricValues(socket);
    assert.equal(after.get('kuma_dp_envoy_restarts_total'), 1);
    assert.equal(after.get('kuma_dp_envoy_crashes_total{reason="signal"}'), 1);
    assert.equal(after.get('kuma_dp_envoy_crashes_total{reason="exit_code"}'), 0);
    assert.equal(after.get('kuma_dp_bootstrap_requests_total{result="ok"}'), 2);
    assert.ok(after.get('envoy_server_live') === 1, "the new Envoy's stats");
    // kuma-cp configures the metrics listener and the dynamic configuration for every dataplane: no feature string asks for them.
    assert.ok(!(cp.requests[0]!.body as { features: string[] }).features.some((feature) => /metric|dynamic|config/.test(feature)));

    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
    assert.ok(!existsSync(socket), 'the socket is removed at exit');
  });

  it("serves MeshMetric from kuma-cp's dynamic configuration, with its extra labels", async () => {
    const { agent, socket } = await runDataplane();
    await waitUntil(async () => (await metricValues(socket, '/meshmetric')).has('envoy_server_live{kuma_proxy_role="sidecar",mesh="default"}'), 10_000, 'MeshMetric applied');
    const served = await metricValues(socket, '/meshmetric');
    assert.equal(served.get('app_requests_total{route="/",kuma_proxy_role="sidecar",mesh="default"}'), 11);
    assert.deepEqual([...served.keys()].filter((name) => name.startsWith('envoy_')), ['envoy_server_live{kuma_proxy_role="sidecar",mesh="default"}']);
    assert.equal(served.get('kuma_dp_envoy_up{kuma_proxy_role="sidecar",mesh="default"}'), 1);
    assert.ok(agent.lines.some((line) => line.event === 'dynconf-changed' && line.path === '/meshmetric'));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });

  it('runs without the metrics parts when told so', async () => {
    const { agent, socket } = await runDataplane(['--no-metrics']);
    assert.ok(!existsSync(socket));
    assert.ok(!agent.lines.some((line) => line.component === 'metrics-socket' || line.component === 'dynamic-configuration'));
    agent.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  });
});

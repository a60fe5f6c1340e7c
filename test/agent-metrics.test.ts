// kuma-dp's own metrics, fed with the supervisor's states as the machine produces them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAgentMetrics } from '../src/agent-metrics/metrics.js';
import { initialState, step, type Event, type Policy, type State } from '../src/supervisor/machine.js';
import { sampleValues } from './helpers/metrics.js';

const policy: Policy = { backoffMs: 100, maxBackoffMs: 1000, limit: 3, stableAfterMs: 60_000, drainTimeMs: 0, stopTimeoutMs: 1000, app: false };

/** Runs events through the real state machine, telling the metrics of every state change. */
function drive(events: readonly Event[], observe: (state: State, previous: State) => void): State {
  let state = initialState;
  for (const event of events) {
    const next = step(state, event, policy).state;
    if (next !== state) observe(next, state);
    state = next;
  }
  return state;
}

const values = async (text: Promise<string>) => sampleValues(await text);

describe("kuma-dp's own metrics", () => {
  it('count restarts and crashes by cause, and tell whether Envoy is up, live and for how long', async () => {
    let now = 1_000_000;
    const metrics = createAgentMetrics({ now: () => now });
    const exited = (pid: number, exit: { code: number | null; signal: string | null }): Event => ({ type: 'exited', pid, exit: { ...exit, stderrTail: [] }, at: now });
    drive(
      [
        { type: 'start' },
        { type: 'spawned', pid: 10, at: now },
        { type: 'live', pid: 10, live: true },
        exited(10, { code: null, signal: 'SIGSEGV' }),
        { type: 'timer', name: 'restart' },
        { type: 'spawned', pid: 11, at: now },
        exited(11, { code: 1, signal: null }),
        { type: 'timer', name: 'restart' },
        { type: 'spawned', pid: 12, at: now - 30_000 },
        { type: 'live', pid: 12, live: true },
      ],
      (state, previous) => metrics.observeSupervisor(state, previous),
    );
    now += 5_000;
    const live = await values(metrics.text());
    assert.equal(live.get('kuma_dp_envoy_restarts_total'), 2);
    assert.equal(live.get('kuma_dp_envoy_crashes_total{reason="signal"}'), 1);
    assert.equal(live.get('kuma_dp_envoy_crashes_total{reason="exit_code"}'), 1);
    assert.equal(live.get('kuma_dp_envoy_up'), 1);
    assert.equal(live.get('kuma_dp_envoy_live'), 1);
    assert.equal(live.get('kuma_dp_envoy_uptime_seconds'), 35);

    metrics.observeSupervisor({ ...initialState, phase: 'backing-off', restarts: 2, consecutiveCrashes: 2 }, undefined);
    const down = await values(metrics.text());
    assert.deepEqual([down.get('kuma_dp_envoy_up'), down.get('kuma_dp_envoy_live'), down.get('kuma_dp_envoy_uptime_seconds')], [0, 0, 0]);
  });

  it('does not count a stop as a crash', async () => {
    const metrics = createAgentMetrics();
    drive(
      [
        { type: 'start' },
        { type: 'spawned', pid: 10, at: 0 },
        { type: 'signal', signal: 'SIGTERM' },
        { type: 'exited', pid: 10, exit: { code: 0, signal: null, stderrTail: [] }, at: 1 },
      ],
      (state, previous) => metrics.observeSupervisor(state, previous),
    );
    const stopped = await values(metrics.text());
    assert.equal(stopped.get('kuma_dp_envoy_restarts_total'), 0);
    assert.equal(stopped.get('kuma_dp_envoy_crashes_total{reason="signal"}'), 0);
    assert.equal(stopped.get('kuma_dp_envoy_crashes_total{reason="exit_code"}'), 0);
  });

  it('count bootstrap requests by result, time them, and show the readiness', async () => {
    const metrics = createAgentMetrics();
    metrics.observeBootstrapRequest('not_found', 0.02);
    metrics.observeBootstrapRequest('ok', 0.3);
    metrics.observeReadiness('READY');
    const seen = await values(metrics.text());
    assert.equal(seen.get('kuma_dp_bootstrap_requests_total{result="not_found"}'), 1);
    assert.equal(seen.get('kuma_dp_bootstrap_requests_total{result="ok"}'), 1);
    assert.equal(seen.get('kuma_dp_bootstrap_request_duration_seconds_count'), 2);
    assert.equal(seen.get('kuma_dp_bootstrap_request_duration_seconds_bucket{le="0.025"}'), 1);
    assert.equal(seen.get('kuma_dp_bootstrap_request_duration_seconds_bucket{le="0.5"}'), 2);
    assert.equal(seen.get('kuma_dp_readiness_state{state="READY"}'), 1);
    assert.equal(seen.get('kuma_dp_readiness_state{state="NOT_READY"}'), 0);
    assert.equal(seen.get('kuma_dp_readiness_state{state="TERMINATING"}'), 0);
  });

  it("carry Node's process metrics under kuma-dp's prefix, in a registry of their own", async () => {
    const first = await values(createAgentMetrics().text());
    assert.ok((first.get('kuma_dp_process_resident_memory_bytes') ?? 0) > 1_000_000);
    assert.ok(first.has('kuma_dp_process_cpu_seconds_total'));
    assert.ok(first.has('kuma_dp_nodejs_heap_size_used_bytes'));
    assert.ok(![...first.keys()].some((name) => name.startsWith('process_') || name.startsWith('nodejs_eventloop')));
    // A second registry in the same process: nothing global is shared, nothing clashes.
    assert.ok((await values(createAgentMetrics().text())).has('kuma_dp_envoy_up'));
  });
});

// The one place that wires a dataplane: its work dir, its components in start order, and what
// they share. The modules behind it (pino, yaml) load while `envoy --version` runs
// (see cli/run.ts).
import { accessLogStreamer } from '../accesslogs/component.js';
import { bindOutboundsComponent } from '../bind-outbounds/component.js';
import { featuresOfSettings } from '../bootstrap/features.js';
import { buildBootstrapRequest } from '../bootstrap/request.js';
import { createDynamicConfigPoller } from '../dynconf/poller.js';
import { controlPlaneAgent, tlsFailure } from '../bootstrap/tls.js';
import type { RunConfig } from '../config/run-config.js';
import type { DnsComponent } from '../dns/component.js';
import type { DnsProxies } from '../dns/proxies.js';
import { dnsProxyFor } from '../dns/setup.js';
import { envoyArgs } from '../envoy/args.js';
import { assertAdminAddressFree } from '../envoy/admin-port.js';
import type { EnvoyBuild } from '../envoy/binary.js';
import { envoyComponent } from '../envoy/component.js';
import { createLauncher, type AppliedBootstrap } from '../envoy/launcher.js';
import { clearPidfile, pidfilePath, takeOverDataplane } from '../envoy/pidfile.js';
import type { Logger } from '../logging/logger.js';
import { spawnChild } from '../process/child.js';
import { childEnvironment } from '../process/environment.js';
import type { Clock } from '../runtime/clock.js';
import { featuresOf, type Component } from '../runtime/component.js';
import { Feed } from '../runtime/feed.js';
import { ComponentManager } from '../runtime/manager.js';
import { ReadinessGates, type Readiness } from '../runtime/readiness.js';
import type { Policy, State } from '../supervisor/machine.js';
import { systemCaBundle } from '../system/ca-bundle.js';
import { hasLocalIPv6 } from '../system/ipv6.js';
import { cgroupMemoryLimit } from '../system/memory-limit.js';
import { agentBuild } from '../version.js';
import type { MetricsParts } from './metrics.js';
import { accessLogPipePath, dynamicConfigSocketPath } from './sockets.js';
import { statusOf } from './status.js';
import type { TokenFields } from '../bootstrap/token.js';
import { openStateDir } from './state-dir.js';
import { openWorkDir } from './workdir.js';

/** An Envoy that stays live this long is considered healthy again: the crash count resets. */
const STABLE_AFTER_MS = 60_000;

/** A dataplane's input, checked: nothing here can still be a typo. */
export interface DataplaneSpec {
  readonly config: RunConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly token: () => Promise<TokenFields>;
  readonly binary: string;
  readonly build: EnvoyBuild;
  readonly app?: { readonly binary: string; readonly args: readonly string[] };
}

/** What the process around a dataplane needs of it. */
export interface Dataplane {
  readonly status: Feed<DataplaneStatus>;
  /** The supervisor's state: Envoy's pid, restarts, last exit. */
  readonly supervisor: Feed<State>;
  /** Hands a signal to the dataplane's supervisor. */
  signal(signal: NodeJS.Signals): void;
  /** Settles with the exit code once every component stopped and the work dir is cleaned up. */
  readonly done: Promise<number>;
}

export interface DataplaneStatus {
  readonly readiness: Readiness;
  /** One line for `systemctl status`. */
  readonly text: string;
}

/**
 * What a dataplane's components share: its settings, its work dir, the bootstrap Envoy runs with
 * (the sidecar configuration and the admin address in force), and the supervisor's state.
 */
export interface DataplaneContext {
  readonly config: RunConfig;
  readonly workDir: string;
  readonly bootstrap: Feed<AppliedBootstrap>;
  readonly supervisor: Feed<State>;
}

export interface DataplaneOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** util-linux setpriv, for the parent-death signal; undefined where there is none. */
  readonly setpriv?: string;
  /**
   * Where this dataplane's readiness is served: kuma-cp is told, and routes the `/ready` of the
   * admin listener it gives Envoy there; Envoy's admin cannot have it too.
   */
  readonly readinessPort: number;
  /** The process's DNS proxies: a dataplane that serves names joins one rather than binding its own. */
  readonly dnsProxies: DnsProxies;
}

/** The parts of a dataplane that report on it: the metrics socket and the agent's own metrics, when on. */
interface Observers {
  readonly metrics?: MetricsParts;
}

/**
 * The side components of a dataplane, in start order; Envoy comes after them, so that the sockets
 * kuma-cp points Envoy at exist before Envoy starts, and stops before them. No feature string
 * goes with the metrics socket or the poller: kuma-cp configures both for every dataplane.
 */
async function sideComponents(
  context: DataplaneContext,
  dns: DnsComponent | undefined,
  clock: Clock,
): Promise<{ components: Component[]; observers: Observers }> {
  const { config, workDir } = context;
  const accessLogs = accessLogStreamer({
    pipePath: accessLogPipePath(workDir, config.dataplane.name, config.dataplane.mesh),
    bufferBytes: config.accessLogBufferBytes,
    clock,
  });
  // One poller for every path of kuma-cp's dynamic configuration, polled in registration order (Go's: /dns, then /meshmetric).
  const poller = createDynamicConfigPoller({ socketPath: dynamicConfigSocketPath(context.workDir), intervalMs: config.dynamicConfigRefreshMs, clock });
  if (dns) poller.register('/dns', (json) => dns.update(json));
  const metrics = config.metrics.enabled
    ? (await import('./metrics.js')).metricsParts({
        ...config.dataplane,
        workDir,
        bootstrap: context.bootstrap,
        poller,
        accessLogLines: accessLogs.stats,
        ...(dns && { moreMetrics: () => dns.metricsText() }),
      })
    : undefined;
  const components = [
    accessLogs,
    ...(dns ? [dns] : []),
    ...(config.bindOutbounds
      ? [
          bindOutboundsComponent({
            admin: () => context.bootstrap.value?.admin,
            publish: dns && ((names) => dns.setNames(names)),
            hostsFile: config.hostsFile === undefined ? undefined : { path: config.hostsFile, id: `${config.dataplane.mesh}/${config.dataplane.name}` },
            clock,
          }),
        ]
      : []),
    ...(metrics ? [metrics.component] : []),
    poller,
  ];
  return { components, observers: { metrics } };
}

function policyOf(config: RunConfig): Policy {
  return {
    ...config.envoy.restart,
    stableAfterMs: STABLE_AFTER_MS,
    drainTimeMs: config.envoy.drainTimeMs,
    stopTimeoutMs: config.envoy.stopTimeoutMs,
    app: config.app !== undefined,
  };
}

/** Takes over from a leftover Envoy, opens the work dir, and starts the components. */
export async function startDataplane(spec: DataplaneSpec, { logger, clock, setpriv, readinessPort, dnsProxies }: DataplaneOptions): Promise<Dataplane> {
  const { config, build } = spec;
  if (!build.compatible) {
    logger.warn({ envoyVersion: build.version }, 'this Envoy version is not one kuma-dp was tested with; it may not work');
  }
  if (config.controlPlane.tls.skipVerify && config.controlPlane.url.protocol === 'https:') {
    logger.warn(
      { event: 'insecure-control-plane', cp: config.controlPlane.url.origin },
      "--skip-verify: the control plane's certificate is not checked, so anyone on the path can pose as it and receive the dataplane token",
    );
  }

  // Before the port check: a leftover Envoy of this very dataplane is the likeliest holder of its port.
  const pidfile = pidfilePath(openStateDir(spec.env), config.dataplane.mesh, config.dataplane.name);
  const leftover = await takeOverDataplane(pidfile, `${config.dataplane.mesh}.${config.dataplane.name}`);
  if (leftover.killed) logger.warn({ event: 'leftover-killed', envoyPid: leftover.killed }, 'killed an Envoy a previous kuma-dp of this dataplane left running');
  if (leftover.unproven) {
    logger.warn(
      { event: 'leftover-unproven', pid: leftover.unproven, pidfile },
      "the pidfile names a running process that cannot be proven to be this dataplane's Envoy; leaving it alone",
    );
  }
  if (config.dataplane.adminPort !== undefined) {
    await assertAdminAddressFree({ kind: 'tcp', host: '127.0.0.1', port: config.dataplane.adminPort });
  }

  const workDir = openWorkDir(config.workDir);
  if (workDir.staleRemoved.length) logger.info({ event: 'stale-workdirs-removed', dirs: workDir.staleRemoved }, 'removed the work dirs of kuma-dp runs that were killed');
  if (workDir.othersCanWrite) {
    logger.warn({ event: 'workdir-writable', workdir: workDir.path }, 'other users can write to the work dir: they could replace the bootstrap Envoy reads; make it writable by kuma-dp alone');
  }
  const context: DataplaneContext = { config, workDir: workDir.path, bootstrap: new Feed(), supervisor: new Feed() };
  const readiness = new ReadinessGates();
  const status = new Feed<DataplaneStatus>();
  let wasReady = false;
  let reporting = false;
  // One report per turn of the event loop: a state change that also moves a gate is one message
  // to systemd, not a stale one followed by the right one.
  const report = () => {
    if (reporting) return;
    reporting = true;
    queueMicrotask(() => {
      reporting = false;
      const state = context.supervisor.value;
      if (!state) return;
      const now = readiness.state;
      const text = statusOf(state, wasReady, readiness.waitingFor.filter((gate) => gate !== 'envoy'));
      wasReady ||= now === 'READY';
      status.publish({ readiness: now, text });
    });
  };
  readiness.onChange(report);

  logger.info(
    { event: 'dataplane-starting', cp: config.controlPlane.url.origin, envoy: spec.binary, envoyVersion: build.version, workdir: workDir.path, readinessPort },
    'starting the dataplane',
  );
  const env = childEnvironment(spec.env);
  const agent = agentBuild();
  const maxHeapSizeBytes = config.dataplane.maxMemoryBytes ?? cgroupMemoryLimit();
  const systemCaPath = config.dataplane.systemCaPath ?? systemCaBundle() ?? '';
  const ipv6Enabled = config.dataplane.ipv6Enabled && hasLocalIPv6();
  const dns = dnsProxyFor(config, dnsProxies, clock);
  const { components: side, observers } = await sideComponents(context, dns, clock);
  readiness.onChange((state) => observers.metrics?.agentMetrics.observeReadiness(state));
  let previous: State | undefined;
  const envoy = envoyComponent({
    policy: policyOf(config),
    clock,
    launch: createLauncher({
      client: {
        url: config.controlPlane.url,
        retryBackoffMs: config.controlPlane.retryBackoffMs,
        retryMaxDurationMs: config.controlPlane.retryMaxDurationMs,
        logger,
        agent: await controlPlaneAgent(config.controlPlane.url, config.controlPlane.tls),
        fatalNetworkError: tlsFailure(config.controlPlane.url, config.controlPlane.tls),
        onAttempt: (result, ms) => observers.metrics?.agentMetrics.observeBootstrapRequest(result, ms / 1000),
      },
      request: async () =>
        buildBootstrapRequest({
          mesh: config.dataplane.mesh,
          name: config.dataplane.name,
          proxyType: config.dataplane.proxyType,
          adminPort: config.dataplane.adminPort,
          hostIp: config.dataplane.hostIp,
          metrics: config.dataplane.metrics,
          spireSocketPath: config.dataplane.spireSocketPath,
          readinessPort,
          envoy: build,
          agent,
          workdir: workDir.path,
          platform: process.platform,
          dataplaneResource: config.dataplane.resource,
          token: await spec.token(),
          caCert: config.controlPlane.tls.caCert,
          maxHeapSizeBytes,
          dnsPort: dns && config.dns.proxyPort,
          dataplaneConfig: config.transparentProxy,
          features: [...featuresOf(components), ...featuresOfSettings(config.dataplane.features)],
          systemCaPath,
          ipv6Enabled,
        }),
      adminPort: config.dataplane.adminPort,
      readinessPort,
      bootstrapPath: workDir.bootstrapPath,
      pidfile,
      binary: spec.binary,
      args: envoyArgs({ ...config.envoy, configPath: workDir.bootstrapPath, platform: process.platform }),
      env,
      setpriv,
      logger,
      onBootstrap: (applied) => context.bootstrap.publish(applied),
    }),
    ...(spec.app && { startApp: () => spawnChild({ binary: spec.app!.binary, args: spec.app!.args, env, setpriv }) }),
    onState: (state) => {
      observers.metrics?.agentMetrics.observeSupervisor(state, previous);
      previous = state;
      context.supervisor.publish(state);
      report();
    },
  });
  const components = [...side, envoy];
  const manager = new ComponentManager({ components, logger, clock, readiness, backoff: config.resilientBackoff });

  const cleanUp = () => {
    workDir.remove();
    clearPidfile(pidfile);
  };
  try {
    await manager.start();
  } catch (error) {
    cleanUp();
    throw error;
  }
  const done = manager.done.then((outcome) => {
    cleanUp();
    return outcome.component === envoy.name && !outcome.error ? (envoy.exitCode ?? 1) : 1;
  });
  return { status, supervisor: context.supervisor, signal: (signal) => envoy.signal(signal), done };
}

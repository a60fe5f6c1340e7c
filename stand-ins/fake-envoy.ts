// A stand-in for the envoy binary, built from ../shared/CONTRACTS.md §2: same command line,
// exit codes, signals and admin API as Envoy 1.34, with xDS and crashes simulated. See the
// FAKE_ENVOY_* variables below for the knobs tests turn, and FAKE_ENVOY_SCENARIO for what kuma-cp
// would have configured (scenario.ts).
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, open, openSync, closeSync, readFileSync, renameSync, unlinkSync, write, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { EnvoyStats, MESH_CLUSTERS, syntheticClusters } from './envoy-stats.js';
import { readScenario } from './scenario.js';

const SHA = '50ea83e602d5da162df89fd5798301e22f5540cf';
const BUILD_VERSION = `${SHA}/1.34.1/Clean/RELEASE/BoringSSL`;
const HOT_RESTART_VERSION = '11.104';
const startedAt = Date.now();
const env = process.env;
const recordDir = env.FAKE_ENVOY_RECORD_DIR || undefined;
const scenarioPath = env.FAKE_ENVOY_SCENARIO || undefined;

// ---------- command line (TCLAP-like) ----------

type Kind = 'string' | 'uint32' | 'uint64' | 'switch';
interface OptionSpec { long: string; short?: string; kind: Kind }

const specs: OptionSpec[] = [
  { long: 'config-path', short: 'c', kind: 'string' },
  { long: 'mode', kind: 'string' },
  { long: 'base-id', kind: 'uint64' },
  { long: 'use-dynamic-base-id', kind: 'switch' },
  { long: 'base-id-path', kind: 'string' },
  { long: 'restart-epoch', kind: 'uint32' },
  { long: 'drain-time-s', kind: 'uint32' },
  { long: 'drain-strategy', kind: 'string' },
  { long: 'parent-shutdown-time-s', kind: 'uint32' },
  { long: 'disable-hot-restart', kind: 'switch' },
  { long: 'log-level', short: 'l', kind: 'string' },
  { long: 'component-log-level', kind: 'string' },
  { long: 'log-format', kind: 'string' },
  { long: 'concurrency', kind: 'uint32' },
  { long: 'cpuset-threads', kind: 'switch' },
  { long: 'admin-address-path', kind: 'string' },
  { long: 'log-path', kind: 'string' },
  { long: 'service-cluster', kind: 'string' },
  { long: 'service-node', kind: 'string' },
  { long: 'service-zone', kind: 'string' },
];

type Parsed = Map<string, string | number | boolean>;

class ParseError extends Error {}

function label(spec: OptionSpec): string {
  return spec.short ? `(-${spec.short}, --${spec.long})` : `(--${spec.long})`;
}

// Real TCLAP splits flag and value on ' ' only, so `--config-path=x` is an unknown argument.
function parseArgs(argv: string[]): Parsed {
  const parsed: Parsed = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const spec = specs.find((s) => arg === `--${s.long}` || (s.short !== undefined && arg === `-${s.short}`));
    if (!spec) throw new ParseError(`PARSE ERROR: Argument: ${arg}\n             Couldn't find match for argument`);
    if (parsed.has(spec.long)) throw new ParseError(`PARSE ERROR: Argument: ${label(spec)}\n             Argument already set!`);
    if (spec.kind === 'switch') {
      parsed.set(spec.long, true);
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new ParseError(`PARSE ERROR: Argument: ${label(spec)}\n             Missing a value for this argument!`);
    if (spec.kind === 'string') {
      parsed.set(spec.long, value);
    } else {
      const max = spec.kind === 'uint32' ? 2 ** 32 - 1 : Number.MAX_SAFE_INTEGER;
      if (!/^\d+$/.test(value) || Number(value) > max) {
        throw new ParseError(`PARSE ERROR: Argument: ${label(spec)}\n             Couldn't read argument value from string '${value}'`);
      }
      parsed.set(spec.long, Number(value));
    }
  }
  return parsed;
}

function fail(message: string): never {
  writeSync(2, message.endsWith('\n') ? message : `${message}\n`);
  process.exit(1);
}

const rawArgs = process.argv.slice(2);

if (rawArgs.includes('--version')) {
  writeSync(1, env.FAKE_ENVOY_VERSION_OUTPUT ?? `\nenvoy  version: ${BUILD_VERSION}\n\n`);
  process.exit(0);
}

let args: Parsed;
try {
  args = parseArgs(rawArgs);
} catch (err) {
  if (!(err instanceof ParseError)) throw err;
  fail(`${err.message}\n\nBrief USAGE: \n   envoy  [options]\n\nFor complete USAGE and HELP type: \n   envoy --help\n`);
}

const str = (name: string): string | undefined => args.get(name) as string | undefined;
const num = (name: string, dflt: number): number => (args.get(name) as number | undefined) ?? dflt;
const flag = (name: string): boolean => args.get(name) === true;

const configPath = str('config-path');
const mode = str('mode') ?? 'serve';
const logLevel = str('log-level') ?? 'info';
const drainStrategy = str('drain-strategy') ?? 'gradual';
const restartEpoch = num('restart-epoch', 0);
const drainTime = num('drain-time-s', 600);
const parentShutdownTime = num('parent-shutdown-time-s', 900);
const concurrency = num('concurrency', os.availableParallelism());
const hotRestart = !flag('disable-hot-restart') && mode !== 'validate';

const levels = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'];
if (!['serve', 'validate', 'init_only'].includes(mode)) fail(`error: unknown mode '${mode}'`);
if (!levels.includes(logLevel)) fail(`error: invalid log level specified '${logLevel}'`);
if (!['gradual', 'immediate'].includes(drainStrategy)) fail(`error: unknown drain-strategy '${drainStrategy}'`);
const componentLogLevel = str('component-log-level');
if (componentLogLevel !== undefined) {
  for (const pair of componentLogLevel.split(',')) {
    const [component, level, extra] = pair.split(':');
    if (!component || !level || extra !== undefined || !levels.includes(level)) {
      fail(`error: component log level not correctly specified '${componentLogLevel}'`);
    }
  }
}
if (flag('use-dynamic-base-id') && restartEpoch > 0) fail('error: cannot use --restart-epoch=1 with --use-dynamic-base-id');
if (flag('use-dynamic-base-id') && args.has('base-id')) fail('error: cannot use --base-id with --use-dynamic-base-id');

// ---------- logging ----------

const levelRank: Record<string, number> = { trace: 0, debug: 1, info: 2, warning: 3, warn: 3, error: 4, critical: 5, off: 6 };
const logPath = str('log-path');

function log(level: 'info' | 'warning' | 'critical', component: string, message: string): void {
  if (levelRank[level]! < levelRank[logLevel]!) return;
  const d = new Date();
  const stamp = `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}`;
  const line = `[${stamp}][${process.pid}][${level}][${component}] ${message}\n`;
  if (logPath) appendFileSync(logPath, line);
  else writeSync(2, line);
}

// ---------- recording ----------

const now = (): string => new Date().toISOString();
const pad = (n: number): string => String(n).padStart(6, '0');

// Claims the next number of a sequence shared by all fakes using the record dir ('wx' is atomic).
function claim(dir: string, sequence: string): number {
  mkdirSync(join(dir, '.seq'), { recursive: true });
  for (let n = 1; ; n++) {
    try {
      closeSync(openSync(join(dir, '.seq', `${sequence}-${pad(n)}`), 'wx'));
      return n;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function record(file: string, entry: object): void {
  if (recordDir) appendFileSync(join(recordDir, file), `${JSON.stringify({ pid: process.pid, ...entry, time: now() })}\n`);
}

let configText: string | null = null;
let configError: string | null = null;
if (configPath !== undefined) {
  try {
    configText = readFileSync(configPath, 'utf8');
  } catch (err) {
    configError = (err as Error).message;
  }
}

if (recordDir) {
  const n = claim(recordDir, 'start');
  const file = join(recordDir, `start-${pad(n)}-${process.pid}.json`);
  const start = { n, pid: process.pid, ppid: process.ppid, time: now(), argv: rawArgs, configPath: configPath ?? null, config: configText, env: { ...env } };
  writeFileSync(`${file}.tmp`, JSON.stringify(start, null, 2));
  renameSync(`${file}.tmp`, file);
}

// ---------- signals ----------

let ignoreSigterm = env.FAKE_ENVOY_IGNORE_SIGTERM === '1';
let reopenedLogs = 0;

function shutdown(reason: string): never {
  log('warning', 'main', `caught ${reason}`);
  log('info', 'main', 'shutting down server instance');
  log('info', 'main', 'exiting');
  process.exit(0);
}

process.on('SIGTERM', () => {
  record('signals.log', { signal: 'SIGTERM' });
  if (ignoreSigterm) log('warning', 'main', 'caught SIGTERM (ignored: hang-on-term)');
  else shutdown('ENVOY_SIGTERM');
});
process.on('SIGINT', () => {
  record('signals.log', { signal: 'SIGINT' });
  shutdown('SIGINT');
});
process.on('SIGUSR1', () => {
  record('signals.log', { signal: 'SIGUSR1' });
  reopenedLogs++;
  log('info', 'main', 'caught SIGUSR1, reopening access logs');
});
process.on('SIGHUP', () => {
  record('signals.log', { signal: 'SIGHUP' });
  log('warning', 'main', 'caught and eating SIGHUP. See documentation for how to hot restart.');
});

function crash(how: { code: number } | { signal: NodeJS.Signals }): never {
  if ('code' in how) {
    log('critical', 'main', `fake crash: exit ${how.code}`);
    process.exit(how.code);
  }
  log('critical', 'backtrace', `Caught ${how.signal}, suspect faulting address 0x0`);
  process.removeAllListeners(how.signal);
  process.kill(process.pid, how.signal);
  // A caught or ignored signal cannot kill us; SIGKILL still reports death by signal.
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function parseCrash(spec: string): { code: number } | { signal: NodeJS.Signals } | null {
  const [kind, value] = spec.split(':');
  if (kind === 'exit' && value !== undefined && /^\d+$/.test(value)) return { code: Number(value) };
  if (kind === 'signal' && value !== undefined && value in os.constants.signals) return { signal: value as NodeJS.Signals };
  return null;
}

// ---------- bootstrap ----------

if (configPath === undefined) fail('At least one of --config-path or --config-yaml or Options::configProto() should be non-empty');
if (configText === null) fail(`[critical][main] error initializing configuration '${configPath}': Invalid path: ${configPath} (${configError})`);

const bootstrapFields = new Set([
  'node', 'node_context_params', 'static_resources', 'dynamic_resources', 'cluster_manager', 'hds_config', 'flags_path',
  'stats_sinks', 'deferred_stat_options', 'stats_config', 'stats_flush_interval', 'stats_flush_on_admin', 'watchdog',
  'watchdogs', 'tracing', 'runtime', 'layered_runtime', 'admin', 'overload_manager', 'enable_dispatcher_stats',
  'header_prefix', 'stats_server_version_override', 'use_tcp_for_dns_lookups', 'dns_resolution_config',
  'typed_dns_resolver_config', 'bootstrap_extensions', 'fatal_actions', 'config_sources', 'default_config_source',
  'default_socket_interface', 'certificate_provider_instances', 'inline_headers', 'perf_tracing_file_path',
  'default_regex_engine', 'xds_delegate_extension', 'xds_config_tracker_extension', 'listener_manager',
  'application_log_config', 'grpc_async_client_manager_config', 'memory_allocator_manager',
]);
const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
// The v3 API accepts both the camelCase JSON names and the snake_case proto names.
const field = (o: unknown, name: string): unknown => (isObj(o) ? o[name] ?? o[snake(name)] : undefined);

// Loaded only here so that `--version`, which a supervisor runs before every start, stays as
// cheap as a real Envoy's.
const { parse: parseYaml } = await import('yaml');
let bootstrap: Obj;
try {
  const parsed: unknown = parseYaml(configText);
  if (!isObj(parsed)) throw new Error('Unable to parse JSON as proto (not a YAML mapping)');
  for (const key of Object.keys(parsed)) {
    if (!bootstrapFields.has(snake(key))) {
      throw new Error(`Protobuf message (type envoy.config.bootstrap.v3.Bootstrap reason INVALID_ARGUMENT:${key}: Cannot find field.)`);
    }
  }
  bootstrap = parsed;
} catch (err) {
  fail(`[critical][main] error initializing configuration '${configPath}': ${(err as Error).message}`);
}

if (mode === 'validate') {
  writeSync(1, `configuration '${configPath}' OK\n`);
  process.exit(0);
}

// ---------- hot restart domain socket ----------

function bindAbstract(name: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err) => resolve(err));
    server.listen(`\0${name}`, () => {
      server.unref();
      resolve(null);
    });
  });
}

let baseId = num('base-id', 0);
if (hotRestart) {
  if (flag('use-dynamic-base-id')) {
    for (baseId = 1 + Math.floor(Math.random() * 1000); ; baseId++) {
      if ((await bindAbstract(`envoy_domain_socket_${baseId}_0`)) === null) break;
    }
  } else {
    const err = await bindAbstract(`envoy_domain_socket_${baseId}_${restartEpoch}`);
    if (err) {
      fail(`[critical][main] unable to bind domain socket with base_id=${baseId}, id=${restartEpoch}, errno=${Math.abs(err.errno ?? 98)} (see --base-id option)`);
    }
  }
}
const baseIdPath = str('base-id-path');
if (baseIdPath) writeFileSync(baseIdPath, String(baseId));

log('info', 'main', `initializing epoch ${restartEpoch} (base id=${baseId}, hot restart version=${hotRestart ? HOT_RESTART_VERSION : 'disabled'})`);
log('info', 'main', `statically linked extensions: (fake envoy ${BUILD_VERSION})`);

// ---------- server state ----------

type State = 'PRE_INITIALIZING' | 'INITIALIZING' | 'LIVE';
let initState: State = 'PRE_INITIALIZING';
let healthCheckFailed = false;
let xdsUpdates = 0;
const drains: Array<{ graceful: boolean; inboundonly: boolean; skipExit: boolean; time: string }> = [];

const serverState = (): State | 'DRAINING' => (healthCheckFailed ? 'DRAINING' : initState);
const uptime = (): string => `${Math.floor((Date.now() - startedAt) / 1000)}s`;
const stateGauge = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 } as const;

// kuma-cp's listeners for --bind-outbounds, from the scenario once xDS has come; each change of
// the scenario is one more LDS update.
// Loaded only with a scenario, so that every other fake starts as fast as before.
const outbounds = env.FAKE_ENVOY_SCENARIO
  ? new (await import('./bound-outbounds.js')).BoundOutbounds(env.FAKE_ENVOY_SCENARIO, (message) => log('warning', 'config', message))
  : undefined;
const listenerUpdates = (): number => {
  if (xdsUpdates > 0) outbounds?.sync();
  return xdsUpdates + (outbounds?.updates ?? 0);
};

function stats(): Array<{ name: string; value: number }> {
  const lds = listenerUpdates();
  return [
    { name: 'cluster_manager.cds.update_attempt', value: xdsUpdates },
    { name: 'cluster_manager.cds.update_success', value: xdsUpdates },
    { name: 'listener_manager.lds.update_attempt', value: lds },
    { name: 'listener_manager.lds.update_success', value: lds },
    { name: 'server.concurrency', value: concurrency },
    { name: 'server.hot_restart_epoch', value: restartEpoch },
    { name: 'server.live', value: initState === 'LIVE' ? 1 : 0 },
    { name: 'server.state', value: stateGauge[serverState()] },
    { name: 'server.uptime', value: Math.floor((Date.now() - startedAt) / 1000) },
  ];
}

function serverInfo(): object {
  return {
    version: BUILD_VERSION,
    state: serverState(),
    hot_restart_version: hotRestart ? HOT_RESTART_VERSION : 'disabled',
    command_line_options: {
      // uint64 fields are strings in proto3 JSON, as in real Envoy.
      base_id: String(baseId),
      use_dynamic_base_id: flag('use-dynamic-base-id'),
      base_id_path: baseIdPath ?? '',
      concurrency,
      config_path: configPath,
      config_yaml: '',
      log_level: logLevel,
      component_log_level: componentLogLevel ?? '',
      log_format: str('log-format') ?? '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v',
      log_path: logPath ?? '',
      service_cluster: str('service-cluster') ?? '',
      service_node: str('service-node') ?? '',
      service_zone: str('service-zone') ?? '',
      drain_strategy: drainStrategy === 'immediate' ? 'Immediate' : 'Gradual',
      mode: 'Serve',
      disable_hot_restart: !hotRestart,
      cpuset_threads: flag('cpuset-threads'),
      restart_epoch: restartEpoch,
      drain_time: `${drainTime}s`,
      parent_shutdown_time: `${parentShutdownTime}s`,
    },
    node: field(bootstrap, 'node') ?? {},
    uptime_current_epoch: uptime(),
    uptime_all_epochs: uptime(),
  };
}

// ---------- admin API ----------

function staticNames(kind: 'clusters' | 'listeners'): string[] {
  const list = field(field(bootstrap, 'staticResources'), kind);
  return Array.isArray(list) ? list.map((item) => String(field(item, 'name') ?? '')) : [];
}

type Reply = { status: number; body: string; type?: string };
const text = (body: string, status = 200): Reply => ({ status, body });
const json = (value: unknown): Reply => ({ status: 200, body: `${JSON.stringify(value, null, 2)}\n`, type: 'application/json' });

const getHandlers: Record<string, (query: URLSearchParams) => Reply> = {
  '/ready': () => (serverState() === 'LIVE' ? text('LIVE\n') : text(`${serverState()}\n`, 503)),
  '/server_info': () => json(serverInfo()),
  '/stats': (query) =>
    query.get('format') === 'json'
      ? json({ stats: stats() })
      : query.get('format') === 'prometheus'
        ? prometheus(query)
        : text(stats().map((s) => `${s.name}: ${s.value}\n`).join('')),
  '/stats/prometheus': (query) => prometheus(query),
  '/config_dump': (query) => {
    if (query.get('resource') !== 'dynamic_listeners') {
      return json({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap, last_updated: new Date(startedAt).toISOString() }] });
    }
    listenerUpdates();
    return json({ configs: outbounds?.dynamicListeners(query.get('name_regex')) ?? [] });
  },
  '/listeners': (query) => {
    listenerUpdates();
    const statuses = [...staticNames('listeners').map((name) => ({ name, local_address: { socket_address: { address: '0.0.0.0', port_value: 0 } } })), ...(outbounds?.statuses() ?? [])];
    if (query.get('format') === 'json') return json({ listener_statuses: statuses });
    return text(statuses.map((s) => `${s.name}::${s.local_address.socket_address.address}:${s.local_address.socket_address.port_value}\n`).join(''));
  },
  '/clusters': () => text(staticNames('clusters').map((name) => `${name}::observability_name::${name}\n`).join('')),
  '/fake/state': () => json({ state: serverState(), healthCheckFailed, xdsUpdates, drains, reopenedLogs, ignoreSigterm }),
};

// Built on first use: the bootstrap's own clusters, kuma-cp's mesh clusters and the scenario's extra series.
let envoyStats: EnvoyStats | undefined;

function prometheus(query: URLSearchParams): Reply {
  if (!envoyStats) {
    const { series = 0, churn = false } = readScenario(scenarioPath).stats ?? {};
    envoyStats = new EnvoyStats([...staticNames('clusters').map((name) => ({ name, requests: 1, connections: 1 })), ...MESH_CLUSTERS], syntheticClusters(series), churn);
  }
  const server = {
    live: initState === 'LIVE',
    state: stateGauge[serverState()],
    concurrency,
    epoch: restartEpoch,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    xdsUpdates,
  };
  // Envoy's Prometheus answer carries no version parameter (Kuma's hijacker notes it).
  return { status: 200, body: envoyStats.render(server, { textReadouts: query.has('text_readouts'), usedOnly: query.has('usedonly') }), type: 'text/plain; charset=UTF-8' };
}

// Runs after the response has been flushed.
let afterResponse: (() => void) | undefined;

const postHandlers: Record<string, (query: URLSearchParams) => Reply> = {
  '/healthcheck/fail': () => {
    healthCheckFailed = true;
    return text('OK\n');
  },
  '/healthcheck/ok': () => {
    healthCheckFailed = false;
    return text('OK\n');
  },
  '/drain_listeners': (query) => {
    drains.push({ graceful: query.has('graceful'), inboundonly: query.has('inboundonly'), skipExit: query.has('skip_exit'), time: now() });
    log('info', 'main', `draining listeners${query.has('graceful') ? ' gracefully' : ''}`);
    return text('OK\n');
  },
  '/quitquitquit': () => {
    afterResponse = () => shutdown('quitquitquit');
    return text('OK\n');
  },
  '/logging': () => text('active loggers:\n  admin: info\n  main: info\n  upstream: info\n'),
  '/reopen_logs': () => {
    reopenedLogs++;
    return text('OK\n');
  },
  '/fake/crash': (query) => {
    const how = query.has('signal') ? parseCrash(`signal:${query.get('signal')}`) : parseCrash(`exit:${query.get('code') ?? '1'}`);
    if (!how) return text('want ?code=<N> or ?signal=<NAME>\n', 400);
    afterResponse = () => crash(how);
    return text('OK\n');
  },
  '/fake/hang-on-term': () => {
    ignoreSigterm = true;
    return text('OK\n');
  },
};

function route(method: string, pathname: string, query: URLSearchParams): Reply {
  const post = postHandlers[pathname];
  if (post) return method === 'POST' ? post(query) : text(`Method ${method} not allowed, POST required.\n`, 400);
  const get = getHandlers[pathname];
  if (get) return get(query);
  const commands = [...Object.keys(getHandlers), ...Object.keys(postHandlers)].sort();
  return text(`envoy admin commands:\n${commands.map((c) => `  ${c}\n`).join('')}`, 404);
}

const admin = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://admin');
  record('admin.log', { method: req.method, path: req.url });
  const reply = route(req.method ?? 'GET', url.pathname, url.searchParams);
  res.writeHead(reply.status, { 'content-type': reply.type ?? 'text/plain; charset=UTF-8', 'cache-control': 'no-cache, max-age=0' });
  res.end(reply.body, () => {
    const next = afterResponse;
    afterResponse = undefined;
    next?.();
  });
});

const adminAddress = field(bootstrap, 'admin') === undefined ? undefined : field(field(bootstrap, 'admin'), 'address');
if (adminAddress !== undefined) {
  const socketAddress = field(adminAddress, 'socketAddress');
  const pipePath = field(field(adminAddress, 'pipe'), 'path');
  let where: string;
  let listenOptions: net.ListenOptions;
  if (socketAddress !== undefined) {
    const host = String(field(socketAddress, 'address') ?? '');
    const port = Number(field(socketAddress, 'portValue') ?? 0);
    where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    listenOptions = { host, port, exclusive: true };
  } else if (typeof pipePath === 'string') {
    // Envoy unlinks a stale socket file before binding a pipe address.
    try {
      unlinkSync(pipePath);
    } catch {
      // nothing to remove
    }
    where = pipePath;
    listenOptions = { path: pipePath };
  } else {
    fail(`[critical][main] error initializing configuration '${configPath}': admin address must have socketAddress or pipe`);
  }
  const bindError = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    admin.once('error', (err) => resolve(err));
    admin.listen(listenOptions, () => resolve(null));
  });
  if (bindError) {
    const reason = bindError.code === 'EADDRINUSE' ? 'Address already in use' : bindError.code === 'EACCES' ? 'Permission denied' : bindError.message;
    fail(`[critical][main] error initializing configuration '${configPath}': cannot bind '${where}': ${reason}`);
  }
  const bound = admin.address();
  const actual = typeof bound === 'string' || bound === null ? where : `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log('info', 'main', `admin address: ${actual}`);
  const addressPath = str('admin-address-path');
  if (addressPath) writeFileSync(addressPath, actual);
}

// ---------- kuma-cp's dynamic configuration ----------

// kuma-cp gives Envoy a listener on this pipe when it has dynamic configuration for the dataplane
// (/meshmetric, /dns), built from the `workdir` of the bootstrap request: the directory the agent
// writes the bootstrap into. Kuma cuts the path to 98 bytes before `.sock`.
function dynamicConfigSocket(): string {
  const full = Buffer.from(join(dirname(configPath!), 'kuma-mesh-metric-config'));
  return `${full.subarray(0, 98).toString()}.sock`;
}

// One route per path, with the JSON of the scenario (read again on every request, so that a test
// changes it by rewriting the file): 200 with `Etag: <hex sha256 of the body>`, 304 when
// If-None-Match is that Etag, 404 for a path with no route. Like Envoy, it leaves the socket
// file behind when it exits.
if (readScenario(scenarioPath).dynamicConfig !== undefined) {
  const socketPath = dynamicConfigSocket();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const routes = readScenario(scenarioPath).dynamicConfig ?? {};
    const ifNoneMatch = req.headers['if-none-match'];
    let status = 404;
    let body = '';
    let etag: string | undefined;
    if (Object.hasOwn(routes, path)) {
      body = JSON.stringify(routes[path]);
      etag = createHash('sha256').update(body).digest('hex');
      status = ifNoneMatch === etag ? 304 : 200;
    }
    record('dynconf.log', { path: req.url, ifNoneMatch: ifNoneMatch ?? null, status });
    res.writeHead(status, etag === undefined ? {} : { etag });
    res.end(status === 200 ? body : undefined);
  });
  try {
    unlinkSync(socketPath);
  } catch {
    // nothing to remove
  }
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  log('info', 'config', `dynamic configuration listener on ${socketPath}`);
}

// ---------- startup: crash knobs, then simulated xDS ----------

if (env.FAKE_ENVOY_CRASH) {
  const how = parseCrash(env.FAKE_ENVOY_CRASH) ?? fail(`fake-envoy: bad FAKE_ENVOY_CRASH '${env.FAKE_ENVOY_CRASH}' (want exit:<code> or signal:<NAME>)`);
  const times = env.FAKE_ENVOY_CRASH_TIMES;
  let crashThisTime = true;
  if (times !== undefined) {
    if (!recordDir) fail('fake-envoy: FAKE_ENVOY_CRASH_TIMES needs FAKE_ENVOY_RECORD_DIR');
    crashThisTime = claim(recordDir, 'crash') <= Number(times);
  }
  if (crashThisTime) setTimeout(() => crash(how), Number(env.FAKE_ENVOY_CRASH_AFTER_MS ?? 0));
}

log('info', 'main', 'starting main dispatch loop');
initState = 'INITIALIZING';

// With no CP answering, Envoy goes LIVE after the CDS/LDS initialFetchTimeout; '0s' disables it.
function initialFetchTimeoutMs(): number | undefined {
  if (env.FAKE_ENVOY_INITIAL_FETCH_TIMEOUT_MS !== undefined) return Number(env.FAKE_ENVOY_INITIAL_FETCH_TIMEOUT_MS);
  const configured = field(field(field(bootstrap, 'dynamicResources'), 'cdsConfig'), 'initialFetchTimeout');
  if (typeof configured !== 'string') return 15000;
  const seconds = Number.parseFloat(configured);
  return seconds > 0 ? seconds * 1000 : undefined;
}

function goLive(): void {
  if (initState === 'LIVE') return;
  initState = 'LIVE';
  log('info', 'main', 'all clusters initialized. initializing init manager');
  log('info', 'config', 'all dependencies initialized. starting workers');
}

// The scenario's access log (a MeshAccessLog TCP backend), once the listeners that log have come.
// Opened as Envoy's access-log manager opens a file: O_WRONLY|O_APPEND|O_CREAT, 0644, so with
// nobody reading a FIFO the open waits, and with nothing there a regular file appears.
async function writeAccessLog(): Promise<void> {
  if (!env.FAKE_ENVOY_SCENARIO) return;
  const accessLog = (await import('./scenario.js')).readScenario(env.FAKE_ENVOY_SCENARIO).accessLog;
  if (!accessLog) return;
  const { path, lines } = accessLog;
  open(path, 'a', 0o644, (error, fd) => {
    if (error) return log('critical', 'main', `unable to open access log file ${path}: ${error.message}`);
    write(fd, lines.map((line) => `${line}\n`).join(''), (failure) => {
      if (failure) log('warning', 'main', `access log write to ${path} failed: ${failure.message}`);
      else record('access-log.log', { path, lines: lines.length });
    });
  });
}

if (field(bootstrap, 'dynamicResources') === undefined) {
  goLive();
} else if (env.FAKE_ENVOY_NO_XDS === '1') {
  const timeout = initialFetchTimeoutMs();
  if (timeout !== undefined) {
    setTimeout(() => {
      log('warning', 'config', 'gRPC config: initial fetch timed out for type.googleapis.com/envoy.config.cluster.v3.Cluster');
      goLive();
    }, timeout);
  }
} else {
  setTimeout(() => {
    xdsUpdates = 1;
    log('info', 'upstream', 'cds: added/updated 1 cluster(s), skipped 0 unmodified cluster(s)');
    log('info', 'upstream', 'lds: add/update listener');
    goLive();
    void writeAccessLog();
  }, Number(env.FAKE_ENVOY_XDS_DELAY_MS ?? 50));
}

// Envoy runs until told to stop, even with no admin server.
setInterval(() => {}, 1 << 30);

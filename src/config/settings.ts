import { parseDataplaneName, parseMeshName } from '../bootstrap/names.js';
import { parseDuration } from './duration.js';
import { UserError } from '../errors.js';
import { parseByteSize } from './size.js';
import {
  countUpTo,
  oneOf,
  parseBoolean,
  parseCount,
  parseIpAddress,
  parseHttpUrl,
  parseNonEmpty,
  parsePort,
  parsePortOrZero,
  parseTemplateVars,
} from './parse.js';

/**
 * One setting of `kuma-dp run`: where it comes from and how its text is checked.
 * The table below is the single source for the CLI's flags, their `--help` text and the
 * resolution order (flag, then the first environment variable set, then the default).
 */
export interface Setting<T, Raw extends string | readonly string[] = string> {
  /** Long flag name without dashes; absent for environment-only settings. */
  readonly flag?: string;
  readonly alias?: string | readonly string[];
  /** Environment variables, most preferred first. */
  readonly env: readonly string[];
  readonly describe: string;
  /** 'array': a flag that may repeat; its parser gets every value, in order. */
  readonly kind?: Raw extends string ? 'string' | 'boolean' : 'array';
  readonly default?: string;
  readonly parse: (raw: Raw, source: string) => T;
}

/** Any row of the table, whatever the shape of its raw text. */
export type AnySetting<T = unknown> = Setting<T> | Setting<T, readonly string[]>;

function setting<T>(spec: Setting<T>): Setting<T> {
  return spec;
}

function repeatable<T>(spec: Setting<T, readonly string[]>): Setting<T, readonly string[]> {
  return spec;
}

const ENVOY_LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'] as const;

function parseComponentLogLevel(raw: string, source: string): string {
  const value = raw.trim();
  const pair = new RegExp(`^[a-z_0-9]+:(${ENVOY_LOG_LEVELS.join('|')})$`);
  if (!value.split(',').every((item) => pair.test(item))) {
    throw new UserError(`invalid ${source} "${raw}": expected component:level pairs such as upstream:debug,connection:trace`);
  }
  return value;
}

function parsePositiveDuration(raw: string, source: string): number {
  const ms = parseDuration(raw, source);
  if (ms <= 0) throw new UserError(`invalid ${source} "${raw}": must be longer than 0`);
  return ms;
}

export const RUN_SETTINGS = {
  cpAddress: setting({
    flag: 'cp-address',
    env: ['KUMA_CONTROL_PLANE_URL', 'KUMA_CONTROL_PLANE_BOOTSTRAP_SERVER_URL'],
    describe: "URL of kuma-cp's DP server (0.x: its bootstrap server)",
    default: 'https://localhost:5678',
    parse: parseHttpUrl,
  }),
  caCertFile: setting({
    flag: 'ca-cert-file',
    env: ['KUMA_CONTROL_PLANE_CA_CERT_FILE'],
    describe: "PEM file of the CA that signed the control plane's certificate (default: the system CAs)",
    parse: parseNonEmpty,
  }),
  caCert: setting({
    env: ['KUMA_CONTROL_PLANE_CA_CERT'],
    describe: "The control plane's CA as inline PEM (a --ca-cert-file wins)",
    parse: parseNonEmpty,
  }),
  skipVerify: setting({
    flag: 'skip-verify',
    env: ['KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY'],
    describe: "Do not verify the control plane's certificate (insecure: for tests only)",
    kind: 'boolean',
    default: 'false',
    parse: parseBoolean,
  }),
  name: setting({
    flag: 'name',
    env: ['KUMA_DATAPLANE_NAME'],
    describe: 'Name of the Dataplane (required, unless a Dataplane template names it)',
    parse: parseDataplaneName,
  }),
  mesh: setting({
    flag: 'mesh',
    env: ['KUMA_DATAPLANE_MESH'],
    describe: 'Mesh the Dataplane belongs to',
    default: 'default',
    parse: parseMeshName,
  }),
  proxyType: setting({
    flag: 'proxy-type',
    env: ['KUMA_DATAPLANE_PROXY_TYPE'],
    describe: 'Kind of proxy: dataplane, ingress or egress',
    default: 'dataplane',
    parse: oneOf(['dataplane', 'ingress', 'egress'] as const),
  }),
  dataplane: setting({
    flag: 'dataplane',
    env: ['KUMA_DATAPLANE_RUNTIME_RESOURCE'],
    describe: 'Dataplane resource template (YAML or JSON with {{ key }} placeholders); name and mesh come from it',
    parse: parseNonEmpty,
  }),
  dataplaneFile: setting({
    flag: 'dataplane-file',
    alias: 'd',
    env: ['KUMA_DATAPLANE_RUNTIME_RESOURCE_PATH'],
    describe: 'File with the Dataplane resource template; - reads stdin',
    parse: parseNonEmpty,
  }),
  dataplaneVars: repeatable({
    flag: 'dataplane-var',
    alias: 'v',
    env: [],
    describe: 'A value for a placeholder of the Dataplane template, key=value (repeatable)',
    kind: 'array',
    parse: parseTemplateVars,
  }),
  dataplaneToken: setting({
    flag: 'dataplane-token',
    env: ['KUMA_DATAPLANE_RUNTIME_TOKEN'],
    describe: 'Dataplane token (prefer --dataplane-token-file: a flag shows in ps)',
    parse: parseNonEmpty,
  }),
  dataplaneTokenFile: setting({
    flag: 'dataplane-token-file',
    env: ['KUMA_DATAPLANE_RUNTIME_TOKEN_PATH'],
    describe: 'File holding the dataplane token; read again before every bootstrap fetch',
    parse: parseNonEmpty,
  }),
  hostIp: setting({
    env: ['HOST_IP'],
    describe: 'IP of the host, passed to the control plane as dynamic metadata',
    parse: parseIpAddress,
  }),
  adminPort: setting({
    flag: 'admin-port',
    env: ['KUMA_DATAPLANE_ADMIN_PORT'],
    describe: "Port of Envoy's admin API on 127.0.0.1 (default: the control plane's choice, else 9901)",
    parse: parsePort,
  }),
  binaryPath: setting({
    flag: 'binary-path',
    env: ['KUMA_DATAPLANE_RUNTIME_BINARY_PATH'],
    describe: 'Envoy binary: a path, or a name looked up in PATH, the current directory and next to kuma-dp',
    default: 'envoy',
    parse: parseNonEmpty,
  }),
  workDir: setting({
    flag: 'config-dir',
    alias: 'work-dir',
    env: ['KUMA_DATAPLANE_RUNTIME_CONFIG_DIR', 'KUMA_DATAPLANE_RUNTIME_WORK_DIR'],
    describe: "Work dir: the bootstrap file and the sockets kuma-cp names from it (default: a private temp dir, removed at exit)",
    parse: parseNonEmpty,
  }),
  drainTime: setting({
    flag: 'drain-time',
    env: ['KUMA_DATAPLANE_DRAIN_TIME'],
    describe: 'How long Envoy drains connections on stop (e.g. 30s, 500ms, 1m)',
    default: '30s',
    parse: parseDuration,
  }),
  concurrency: setting({
    flag: 'concurrency',
    env: ['KUMA_DATAPLANE_RUNTIME_CONCURRENCY'],
    describe: "Envoy's worker threads (default: one per CPU the process may use)",
    // Envoy reads it as a uint32.
    parse: countUpTo(2 ** 32 - 1),
  }),
  envoyLogLevel: setting({
    flag: 'envoy-log-level',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_LOG_LEVEL'],
    describe: `Envoy's log level: ${ENVOY_LOG_LEVELS.join(', ')} (default: kuma-dp's own --log-level)`,
    parse: oneOf(ENVOY_LOG_LEVELS),
  }),
  envoyComponentLogLevel: setting({
    flag: 'envoy-component-log-level',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_COMPONENT_LOG_LEVEL'],
    describe: "Envoy's per-component log levels, e.g. upstream:debug,connection:trace",
    parse: parseComponentLogLevel,
  }),
  logLevel: setting({
    flag: 'log-level',
    env: ['KUMA_DATAPLANE_LOG_LEVEL'],
    describe: `kuma-dp's own log level: ${LOG_LEVELS.join(', ')}`,
    default: 'info',
    parse: oneOf(LOG_LEVELS),
  }),
  logOutputPath: setting({
    flag: 'log-output-path',
    env: [],
    describe: "File for kuma-dp's logs (and Envoy's lines) instead of stderr, rotated by size like Go kuma-dp's",
    parse: parseNonEmpty,
  }),
  logMaxSize: setting({
    flag: 'log-max-size',
    env: [],
    describe: 'With --log-output-path: megabytes a log file may reach before it is rotated',
    default: '100',
    parse: parseCount,
  }),
  logMaxRetainedFiles: setting({
    flag: 'log-max-retained-files',
    env: [],
    describe: 'With --log-output-path: rotated log files to keep (0: all)',
    default: '1000',
    parse: parseCount,
  }),
  logMaxAge: setting({
    flag: 'log-max-age',
    env: [],
    describe: 'With --log-output-path: days to keep rotated log files (0: no limit)',
    default: '30',
    parse: parseCount,
  }),
  metricsCertPath: setting({
    flag: 'metrics-cert-path',
    env: ['KUMA_DATAPLANE_RUNTIME_METRICS_CERT_PATH'],
    describe: "Certificate (PEM) of the metrics listener: kuma-cp then serves Prometheus over TLS (needs --metrics-key-path)",
    parse: parseNonEmpty,
  }),
  metricsKeyPath: setting({
    flag: 'metrics-key-path',
    env: ['KUMA_DATAPLANE_RUNTIME_METRICS_KEY_PATH'],
    describe: 'Private key (PEM) of the metrics listener (needs --metrics-cert-path)',
    parse: parseNonEmpty,
  }),
  systemCaPath: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_DYNAMIC_SYSTEM_CA_PATH'],
    describe: "The system's CA bundle, for external services that fall back to the system CAs (default: the first of the usual places that exists)",
    parse: parseNonEmpty,
  }),
  ipv6Enabled: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_IPV6_ENABLED'],
    describe: 'Let kuma-cp use IPv6 for this dataplane; false turns it off, true still needs an IPv6 address on the host',
    kind: 'boolean',
    default: 'true',
    parse: parseBoolean,
  }),
  spireSocketPath: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_SPIRE_SOCKET_PATH'],
    describe: "The SPIRE agent's socket, for a MeshIdentity of the SPIRE kind",
    parse: parseNonEmpty,
  }),
  maxMemoryBytes: setting({
    env: ['KUMA_DATAPLANE_RESOURCES_MAX_MEMORY_BYTES'],
    describe: "Memory the proxy may use, for kuma-cp to size Envoy's heap by (default: the cgroup's limit; 0: that default)",
    parse: parseCount,
  }),
  strictInboundPorts: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED'],
    describe: "Ask kuma-cp to refuse inbound traffic on ports the Dataplane does not declare (feature-strict-inbound-ports)",
    kind: 'boolean',
    default: 'true',
    parse: parseBoolean,
  }),
  reusePort: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_REUSE_PORT_ENABLED'],
    describe: "Ask kuma-cp for listeners with SO_REUSEPORT (feature-reuse-port)",
    kind: 'boolean',
    default: 'true',
    parse: parseBoolean,
  }),
  xdsTransport: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT'],
    describe: 'kuma-cp 2.x: DELTA_GRPC asks for delta xDS (feature-delta-grpc); 3.x always uses it',
    parse: oneOf(['GRPC', 'DELTA_GRPC'] as const),
  }),
  unifiedResourceNaming: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_UNIFIED_RESOURCE_NAMING_ENABLED'],
    describe: "kuma-cp 2.x: ask for Kuma's unified names of Envoy resources and stats (feature-unified-resource-naming); 3.x always uses them",
    kind: 'boolean',
    default: 'false',
    parse: parseBoolean,
  }),
  resilientBaseBackoff: setting({
    env: ['KUMA_DATAPLANE_RESILIENT_COMPONENT_BASE_BACKOFF'],
    describe: 'Wait before restarting a failed side component (metrics, access logs, DNS); doubles per failure',
    default: '5s',
    parse: parseDuration,
  }),
  resilientMaxBackoff: setting({
    env: ['KUMA_DATAPLANE_RESILIENT_COMPONENT_MAX_BACKOFF'],
    describe: 'Longest wait before restarting a failed side component',
    default: '1m',
    parse: parseDuration,
  }),
  retryBackoff: setting({
    env: ['KUMA_CONTROL_PLANE_RETRY_BACKOFF'],
    describe: 'Wait between attempts to fetch the bootstrap',
    default: '3s',
    parse: parseDuration,
  }),
  retryMaxDuration: setting({
    env: ['KUMA_CONTROL_PLANE_RETRY_MAX_DURATION'],
    describe: 'Give up fetching the bootstrap after this long',
    default: '5m',
    parse: parseDuration,
  }),
  envoyRestartBackoff: setting({
    flag: 'envoy-restart-backoff',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_BACKOFF'],
    describe: 'Delay before restarting a crashed Envoy; doubles per consecutive crash',
    default: '1s',
    parse: parseDuration,
  }),
  envoyRestartMaxBackoff: setting({
    flag: 'envoy-restart-max-backoff',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_MAX_BACKOFF'],
    describe: 'Longest delay between restarts of a crashing Envoy',
    default: '30s',
    parse: parseDuration,
  }),
  envoyRestartLimit: setting({
    flag: 'envoy-restart-limit',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_RESTART_LIMIT'],
    describe: 'Consecutive crashes after which kuma-dp gives up and exits non-zero (0: never)',
    default: '10',
    parse: parseCount,
  }),
  envoyStopTimeout: setting({
    flag: 'envoy-stop-timeout',
    env: ['KUMA_DATAPLANE_RUNTIME_ENVOY_STOP_TIMEOUT'],
    describe: 'How long Envoy may take to exit after SIGTERM before it is killed',
    default: '5s',
    parse: parseDuration,
  }),
  accessLogBuffer: setting({
    flag: 'access-log-buffer',
    env: ['KUMA_DATAPLANE_RUNTIME_ACCESS_LOG_BUFFER'],
    describe: 'Per TCP access-log backend, the most log lines kept in memory while it is down or slow, e.g. 512KiB (0: none)',
    default: '1MiB',
    parse: parseByteSize(64 * 1024 * 1024),
  }),
  dnsEnabled: setting({
    flag: 'dns-enabled',
    env: ['KUMA_DNS_ENABLED'],
    describe: 'Run the embedded DNS proxy (with --transparent-proxy[-config] or --bind-outbounds: it needs names to serve)',
    kind: 'boolean',
    default: 'true',
    parse: parseBoolean,
  }),
  dnsProxyPort: setting({
    flag: 'dns-proxy-port',
    env: ['KUMA_DNS_PROXY_PORT'],
    describe: "Port of the embedded DNS proxy; the transparent proxy's iptables redirect DNS here",
    default: '15053',
    parse: parsePort,
  }),
  transparentProxy: setting({
    flag: 'transparent-proxy',
    env: [],
    describe: "Tell kuma-cp this dataplane runs behind kumactl's transparent proxy, with its default configuration",
    kind: 'boolean',
    default: 'false',
    parse: parseBoolean,
  }),
  transparentProxyConfig: repeatable({
    flag: 'transparent-proxy-config',
    env: [],
    describe: 'A file with the YAML of `kumactl install transparent-proxy --config` (- reads stdin); repeatable, later files win',
    kind: 'array',
    parse: (raws, source) => raws.map((raw) => parseNonEmpty(raw, source)),
  }),
  bindOutbounds: setting({
    flag: 'bind-outbounds',
    env: ['KUMA_DATAPLANE_RUNTIME_BIND_OUTBOUNDS'],
    describe: "Have Envoy bind every mesh service's address (a 127.x VIP) instead of iptables; kuma-dp serves their names",
    kind: 'boolean',
    default: 'false',
    parse: parseBoolean,
  }),
  hostsFile: setting({
    flag: 'hosts-file',
    env: [],
    describe: 'With --bind-outbounds: keep the mesh names in a marked block of this hosts file, e.g. /etc/hosts (default: off)',
    parse: parseNonEmpty,
  }),
  dataplanesDir: setting({
    flag: 'dataplanes-dir',
    env: ['KUMA_DATAPLANES_DIR'],
    describe: 'Fleet mode: run every dataplane described by a file in this directory (kuma-dp run flags per file), from one agent',
    parse: parseNonEmpty,
  }),
  readinessPort: setting({
    flag: 'readiness-port',
    env: ['KUMA_READINESS_PORT'],
    describe: "Port of kuma-dp's readiness endpoint on 127.0.0.1 (0: a free port the system picks, for kuma-cp's /ready route only)",
    default: '9902',
    parse: parsePortOrZero,
  }),
  metrics: setting({
    flag: 'metrics',
    env: ['KUMA_DATAPLANE_RUNTIME_METRICS_ENABLED'],
    describe: "Serve the metrics socket kuma-cp's Prometheus listener routes to, with kuma-dp's own metrics (--no-metrics: off)",
    kind: 'boolean',
    default: 'true',
    parse: parseBoolean,
  }),
  dynamicConfigRefreshInterval: setting({
    env: ['KUMA_DATAPLANE_RUNTIME_DYNAMIC_CONFIGURATION_REFRESH_INTERVAL'],
    describe: "How often kuma-dp polls Envoy for kuma-cp's dynamic configuration (MeshMetric, DNS)",
    default: '1s',
    parse: parsePositiveDuration,
  }),
} as const;

export type RunSettings = typeof RUN_SETTINGS;

/** Resolves one setting: the flag if given, else the first environment variable set, else the default. */
export function resolveSetting<T>(
  spec: AnySetting<T>,
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): T | undefined {
  const parse = (raw: unknown, source: string): T =>
    isRepeatable(spec) ? spec.parse((Array.isArray(raw) ? raw : [raw]).map(String), source) : spec.parse(String(raw), source);
  const flagValue = spec.flag === undefined ? undefined : flags[spec.flag];
  if (Array.isArray(flagValue) && !isRepeatable(spec)) {
    throw new UserError(`--${spec.flag} is given ${flagValue.length} times: give it once`);
  }
  if (flagValue !== undefined) return parse(flagValue, `--${spec.flag}`);
  for (const name of spec.env) {
    const value = env[name];
    if (value !== undefined && value !== '') return parse(value, name);
  }
  return spec.default === undefined ? undefined : parse(spec.default, `default of --${spec.flag ?? spec.env[0]}`);
}

function isRepeatable<T>(spec: AnySetting<T>): spec is Setting<T, readonly string[]> {
  return spec.kind === 'array';
}

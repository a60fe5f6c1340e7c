import { checkCaCert } from '../bootstrap/ca-cert.js';
import type { FeatureSettings } from '../bootstrap/features.js';
import type { ProxyType } from '../bootstrap/request.js';
import type { ControlPlaneTls } from '../bootstrap/tls.js';
import { loadDataplaneResource } from '../bootstrap/template.js';
import { tokenSetting, type TokenSetting } from '../bootstrap/token.js';
import { UserError } from '../errors.js';
import { parseTransparentProxyConfig, type DataplaneConfig } from '../transparent-proxy/config.js';
import { RUN_SETTINGS, resolveSetting, type AnySetting, type RunSettings } from './settings.js';
import { UNSUPPORTED_SETTINGS, unknownVariables, unsupportedNotices } from './unsupported.js';

type LogLevel = (typeof import('./settings.js').LOG_LEVELS)[number];

/** Everything `kuma-dp run` needs, validated once. Nothing else reads argv or the environment. */
export interface RunConfig {
  readonly controlPlane: {
    readonly url: URL;
    readonly retryBackoffMs: number;
    readonly retryMaxDurationMs: number;
    readonly tls: ControlPlaneTls;
  };
  readonly dataplane: {
    readonly name: string;
    readonly mesh: string;
    readonly proxyType: ProxyType;
    /** Only when the operator chose it; otherwise the control plane's choice stands. */
    readonly adminPort?: number;
    /** The rendered Dataplane template as JSON: kuma-cp creates the Dataplane from it. */
    readonly resource?: string;
    readonly token?: TokenSetting;
    readonly hostIp?: string;
    /** The metrics listener's certificate and key, for kuma-cp to serve Prometheus over TLS. */
    readonly metrics?: { readonly certPath: string; readonly keyPath: string };
    /** The operator's system CA bundle; undefined: the first of the usual places that exists. */
    readonly systemCaPath?: string;
    /** false: IPv6 is off; true: on where the host has an IPv6 address. */
    readonly ipv6Enabled: boolean;
    readonly spireSocketPath?: string;
    /** undefined: the cgroup's memory limit. */
    readonly maxMemoryBytes?: number;
    readonly features: FeatureSettings;
  };
  readonly envoy: {
    readonly binaryPath: string;
    readonly logLevel: string;
    readonly componentLogLevel?: string;
    readonly concurrency?: number;
    readonly drainTimeMs: number;
    readonly stopTimeoutMs: number;
    readonly restart: {
      readonly backoffMs: number;
      readonly maxBackoffMs: number;
      /** Consecutive crashes before giving up; 0 never gives up. */
      readonly limit: number;
    };
  };
  /** The work dir the operator chose; undefined means a private temp dir. */
  readonly workDir?: string;
  /** 0: a free port the system picks. */
  readonly readinessPort: number;
  /** The metrics socket and kuma-dp's own metrics. */
  readonly metrics: { readonly enabled: boolean };
  /** How often Envoy's dynamic-configuration socket is polled. */
  readonly dynamicConfigRefreshMs: number;
  /** Per access-log backend, the most bytes of lines kept while it is down or slow. */
  readonly accessLogBufferBytes: number;
  readonly dns: {
    readonly enabled: boolean;
    readonly proxyPort: number;
  };
  /** kumactl's transparent-proxy configuration, when the dataplane runs behind its iptables. */
  readonly transparentProxy?: DataplaneConfig;
  readonly bindOutbounds: boolean;
  /** --hosts-file: where the bind-outbounds names are kept for applications. */
  readonly hostsFile?: string;
  readonly logLevel: LogLevel;
  /** `--log-output-path`: logs go to this file, rotated as Go kuma-dp's lumberjack rotates them. */
  readonly logOutput?: LogOutput;
  /** Go kuma-dp's resilient-component backoff, for the side components. */
  readonly resilientBackoff: { readonly baseMs: number; readonly maxMs: number };
  /** `kuma-dp run -- <app> [args]`: the application started once the dataplane is ready. */
  readonly app?: readonly string[];
  /** Warnings for the log: settings of Go kuma-dp this agent ignores, unknown KUMA_* variables. */
  readonly notices: readonly string[];
}

export interface LogOutput {
  readonly path: string;
  readonly maxSizeBytes: number;
  /** 0 keeps every rotated file. */
  readonly maxBackups: number;
  /** 0 keeps rotated files whatever their age. */
  readonly maxAgeMs: number;
}

const MB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Envoy's level when only kuma-dp's own is given: Envoy inherits it, as with Go kuma-dp. */
const ENVOY_LEVEL_OF: Readonly<Record<LogLevel, string>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
  fatal: 'critical',
  off: 'off',
};

/** Every variable some setting reads, supported or not: the others get a warning. */
const KNOWN_VARIABLES: ReadonlySet<string> = new Set(
  [...Object.values(RUN_SETTINGS), ...UNSUPPORTED_SETTINGS].flatMap((spec): readonly string[] => spec.env),
);

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads a file the settings name (a path, or - for stdin) and fails with one line naming the
 * setting: the one way config reaches the file system, so that parsing itself stays pure.
 */
export type ReadText = (file: string, setting: string) => string;

export function loadRunConfig(flags: Readonly<Record<string, unknown>>, env: Environment, read: ReadText): RunConfig {
  const get = <K extends keyof RunSettings>(key: K) =>
    resolveSetting(RUN_SETTINGS[key] as AnySetting<ReturnType<RunSettings[K]['parse']>>, flags, env);
  // Set by the operator, ignoring defaults: only those can conflict with a Dataplane template.
  const given = (key: 'name' | 'mesh') => resolveSetting({ ...RUN_SETTINGS[key], default: undefined }, flags, env);
  const must = <K extends keyof RunSettings>(key: K) => {
    const value = get(key);
    if (value === undefined) {
      const spec: AnySetting = RUN_SETTINGS[key];
      throw new UserError(`missing ${spec.describe.replace(/ \(required.*\)$/, '').toLowerCase()}: pass --${spec.flag} or set ${spec.env[0]}`);
    }
    return value;
  };

  const restart = {
    backoffMs: must('envoyRestartBackoff'),
    maxBackoffMs: must('envoyRestartMaxBackoff'),
    limit: must('envoyRestartLimit'),
  };
  if (restart.maxBackoffMs < restart.backoffMs) {
    throw new UserError('invalid --envoy-restart-max-backoff: must not be shorter than --envoy-restart-backoff');
  }
  const readinessPort = must('readinessPort');
  const adminPort = get('adminPort');
  if (readinessPort !== 0 && readinessPort === adminPort) {
    throw new UserError(`invalid --readiness-port ${readinessPort}: it is also the --admin-port; give each its own port`);
  }
  const notices = [...unsupportedNotices(flags, env), ...unknownVariables(env, KNOWN_VARIABLES)];
  const app = flags['--'];
  const transparentProxySources = get('transparentProxyConfig') ?? [];
  if (transparentProxySources.filter((source) => source === '-').length + (get('dataplaneFile') === '-' ? 1 : 0) > 1) {
    throw new UserError('stdin can be read once: pass - to only one of --dataplane-file and --transparent-proxy-config');
  }
  const bindOutbounds = must('bindOutbounds');
  const hostsFile = get('hostsFile');
  if (hostsFile !== undefined && !bindOutbounds) {
    throw new UserError('invalid --hosts-file: it holds the names of --bind-outbounds; pass --bind-outbounds too');
  }
  const dns = { enabled: must('dnsEnabled'), proxyPort: must('dnsProxyPort') };
  const transparentProxy =
    must('transparentProxy') || transparentProxySources.length > 0
      ? parseTransparentProxyConfig(
          transparentProxySources.map((source) => ({ source, text: read(source, '--transparent-proxy-config') })),
          dns,
        )
      : undefined;
  if (transparentProxy && process.platform !== 'linux') {
    throw new UserError('invalid --transparent-proxy: the transparent proxy (iptables) exists only on Linux');
  }
  // The DNS proxy listens on TCP as well: a port shared with our own TCP listeners cannot work.
  if (dns.enabled && (transparentProxy || bindOutbounds) && [readinessPort, adminPort].includes(dns.proxyPort)) {
    const other = dns.proxyPort === readinessPort ? '--readiness-port' : '--admin-port';
    throw new UserError(`invalid --dns-proxy-port ${dns.proxyPort}: it is also the ${other}; give each its own port`);
  }
  const resource = loadDataplaneResource({
    inline: get('dataplane'),
    file: get('dataplaneFile'),
    read: (file) => read(file, '--dataplane-file'),
    vars: get('dataplaneVars'),
    name: given('name'),
    mesh: given('mesh'),
    adminPort,
  });
  const certPath = get('metricsCertPath');
  const keyPath = get('metricsKeyPath');
  if ((certPath === undefined) !== (keyPath === undefined)) {
    const [has, lacks] = certPath === undefined ? ['--metrics-key-path', '--metrics-cert-path'] : ['--metrics-cert-path', '--metrics-key-path'];
    throw new UserError(`${has} needs ${lacks} too: kuma-cp uses the pair or neither`);
  }
  // Read now only to fail early: Envoy reads them, where kuma-cp's listener names them.
  if (certPath !== undefined && keyPath !== undefined) {
    read(certPath, '--metrics-cert-path');
    read(keyPath, '--metrics-key-path');
  }
  const resilientBackoff = { baseMs: must('resilientBaseBackoff'), maxMs: must('resilientMaxBackoff') };
  if (resilientBackoff.maxMs < resilientBackoff.baseMs) {
    throw new UserError('invalid KUMA_DATAPLANE_RESILIENT_COMPONENT_MAX_BACKOFF: must not be shorter than KUMA_DATAPLANE_RESILIENT_COMPONENT_BASE_BACKOFF');
  }
  const logLevel = must('logLevel');
  const logOutput = logOutputOf(flags, env);
  const maxMemoryBytes = get('maxMemoryBytes');
  return {
    controlPlane: {
      url: must('cpAddress'),
      retryBackoffMs: must('retryBackoff'),
      retryMaxDurationMs: must('retryMaxDuration'),
      tls: { caCert: caCertOf(get('caCertFile'), get('caCert'), read), skipVerify: must('skipVerify') },
    },
    dataplane: {
      name: resource?.name ?? must('name'),
      mesh: resource?.mesh ?? must('mesh'),
      proxyType: must('proxyType'),
      adminPort,
      resource: resource?.json,
      token: tokenSetting(get('dataplaneToken'), get('dataplaneTokenFile')),
      hostIp: get('hostIp'),
      ...(certPath !== undefined && keyPath !== undefined && { metrics: { certPath, keyPath } }),
      systemCaPath: get('systemCaPath'),
      ipv6Enabled: must('ipv6Enabled'),
      spireSocketPath: get('spireSocketPath'),
      maxMemoryBytes: maxMemoryBytes || undefined,
      features: {
        strictInboundPorts: must('strictInboundPorts'),
        reusePort: must('reusePort'),
        deltaXds: get('xdsTransport') === 'DELTA_GRPC',
        unifiedResourceNaming: must('unifiedResourceNaming'),
      },
    },
    envoy: {
      binaryPath: must('binaryPath'),
      logLevel: get('envoyLogLevel') ?? ENVOY_LEVEL_OF[logLevel],
      componentLogLevel: get('envoyComponentLogLevel'),
      concurrency: get('concurrency'),
      drainTimeMs: must('drainTime'),
      stopTimeoutMs: must('envoyStopTimeout'),
      restart,
    },
    workDir: get('workDir'),
    readinessPort,
    metrics: { enabled: must('metrics') },
    dynamicConfigRefreshMs: must('dynamicConfigRefreshInterval'),
    accessLogBufferBytes: must('accessLogBuffer'),
    dns,
    transparentProxy,
    bindOutbounds,
    hostsFile,
    logLevel,
    ...(logOutput && { logOutput }),
    resilientBackoff,
    app: Array.isArray(app) && app.length > 0 ? app.map(String) : undefined,
    notices,
  };
}

/** `--log-output-path` and its rotation: the agent's, read apart from any one dataplane's settings. */
export function logOutputOf(flags: Readonly<Record<string, unknown>>, env: Environment): LogOutput | undefined {
  const get = <K extends 'logOutputPath' | 'logMaxSize' | 'logMaxRetainedFiles' | 'logMaxAge'>(key: K) =>
    resolveSetting(RUN_SETTINGS[key] as AnySetting<ReturnType<RunSettings[K]['parse']>>, flags, env);
  const file = get('logOutputPath');
  if (file === undefined) return undefined;
  return {
    path: file,
    // lumberjack's default for 0, as Go kuma-dp passes it on.
    maxSizeBytes: (get('logMaxSize') || 100) * MB,
    maxBackups: get('logMaxRetainedFiles')!,
    maxAgeMs: get('logMaxAge')! * DAY_MS,
  };
}

/** The CA from `--ca-cert-file` (which wins) or inline PEM, checked to be a certificate. */
function caCertOf(file: string | undefined, inline: string | undefined, read: ReadText): string | undefined {
  if (file !== undefined) return checkCaCert(read(file, '--ca-cert-file'), `--ca-cert-file ${file}`);
  return inline === undefined ? undefined : checkCaCert(inline, 'KUMA_CONTROL_PLANE_CA_CERT');
}

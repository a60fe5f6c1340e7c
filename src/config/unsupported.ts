/**
 * A flag or variable of Go kuma-dp's `run` (v2.14.3 or 3.x) that this agent does not act on. A
 * unit file copied from a Go install must not fail on an unknown flag, nor have a setting vanish
 * without a word: each one is accepted and answered with one line saying why it does nothing.
 * (A setting that asks for something the agent cannot do and must not run without belongs in the
 * settings table, refused by its own parser.)
 */
export interface UnsupportedSetting {
  readonly flag?: string;
  readonly env: readonly string[];
  readonly kind: 'string' | 'boolean' | 'array';
  readonly reason: string;
  /** A value that asks for nothing the agent lacks (e.g. "false" for a feature it does not have). */
  readonly inert?: (raw: string) => boolean;
}

const FALSE = /^(false|0|no|)$/i;
const off = (raw: string) => FALSE.test(raw.trim());

const COREDNS = "a CoreDNS setting of Kuma 2.x: this agent runs no CoreDNS (Kuma 3.x runs none either)";
const KUBERNETES_ONLY = "Kubernetes only (Kuma's sidecar injector sets it)";

export const UNSUPPORTED_SETTINGS: readonly UnsupportedSetting[] = [
  { flag: 'dns-envoy-port', env: ['KUMA_DNS_ENVOY_DNS_PORT'], kind: 'string', reason: COREDNS },
  { flag: 'dns-coredns-port', env: ['KUMA_DNS_CORE_DNS_PORT'], kind: 'string', reason: COREDNS },
  { flag: 'dns-coredns-path', env: ['KUMA_DNS_CORE_DNS_BINARY_PATH'], kind: 'string', reason: COREDNS },
  { flag: 'dns-coredns-config-template-path', env: ['KUMA_DNS_CORE_DNS_CONFIG_TEMPLATE_PATH'], kind: 'string', reason: COREDNS },
  { flag: 'dns-server-config-dir', env: ['KUMA_DNS_CONFIG_DIR'], kind: 'string', reason: COREDNS },
  { flag: 'dns-prometheus-port', env: ['KUMA_DNS_PROMETHEUS_PORT'], kind: 'string', reason: COREDNS },
  { flag: 'dns-enable-logging', env: ['KUMA_DNS_ENABLE_LOGGING'], kind: 'boolean', reason: COREDNS, inert: off },
  {
    env: ['KUMA_DATAPLANE_RUNTIME_TRANSPARENT_PROXY'],
    kind: 'string',
    reason: 'not read (nor by Go kuma-dp, whose configuration loader expects a structure here): give the configuration with --transparent-proxy-config',
  },
  {
    env: ['KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED'],
    kind: 'boolean',
    inert: off,
    reason: "this agent has no OpenTelemetry pipe: kuma-cp is not told feature-otel-via-kuma-dp, so Envoy sends telemetry to the collector itself",
  },
  {
    env: ['KUMA_DATAPLANE_RUNTIME_SPIRE_SUPPORTED'],
    kind: 'boolean',
    inert: off,
    reason: `${KUBERNETES_ONLY}: on Universal give the SPIRE agent's socket with KUMA_DATAPLANE_RUNTIME_SPIRE_SOCKET_PATH`,
  },
  {
    env: ['KUMA_APPLICATION_PROBE_PROXY_PORT'],
    kind: 'string',
    inert: (raw) => raw.trim() === '0',
    reason: `${KUBERNETES_ONLY}: the probe proxy answers the kubelet's application probes`,
  },
  {
    env: ['KUMA_DATAPLANE_RUNTIME_SOCKET_DIR'],
    kind: 'string',
    reason: 'deprecated in Kuma 2.x and gone in 3.x: the sockets are in the work dir (--work-dir)',
  },
  {
    env: ['KUMA_CONTROL_PLANE_API_SERVER_URL'],
    kind: 'string',
    reason: "not read by kuma-dp (Go kuma-dp ignores it too): the control plane's address is --cp-address / KUMA_CONTROL_PLANE_URL",
  },
];

/** One warning for each unsupported setting given a value that asks for something. */
export function unsupportedNotices(
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  table: readonly UnsupportedSetting[] = UNSUPPORTED_SETTINGS,
): string[] {
  const warnings: string[] = [];
  for (const spec of table) {
    const given: Array<[source: string, raw: string]> = [];
    const flagValue = spec.flag === undefined ? undefined : flags[spec.flag];
    if (flagValue !== undefined) {
      for (const raw of Array.isArray(flagValue) ? flagValue : [flagValue]) given.push([`--${spec.flag}`, String(raw)]);
    }
    for (const name of spec.env) {
      const raw = env[name];
      if (raw !== undefined && raw.trim() !== '') given.push([name, raw]);
    }
    const asked = given.find(([, raw]) => !spec.inert?.(raw));
    if (!asked) continue;
    warnings.push(`${asked[0]} is ignored: ${spec.reason}`);
  }
  return warnings;
}

/**
 * One warning per `KUMA_*` variable nobody reads. Go kuma-dp ignores them silently, and a typo in
 * a unit file then costs hours; the nearest known name is suggested.
 */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>, known: ReadonlySet<string>): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('KUMA_') && !known.has(name))
    .sort()
    .map((name) => {
      const near = nearest(name, known);
      return `${name} is not a kuma-dp variable and is ignored${near ? ` (did you mean ${near}?)` : ''}`;
    });
}

/** The known name within a few edits of `name`, if one is that close. */
function nearest(name: string, known: ReadonlySet<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

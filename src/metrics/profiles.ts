import type { Family } from './model.js';

export type SelectorType = 'Prefix' | 'Regex' | 'Exact' | 'Contains';
export type ProfileName = 'All' | 'Basic' | 'None';

export interface Selector {
  readonly type: SelectorType;
  readonly match: string;
}

/** MeshMetric's `default.sidecar`: which of Envoy's metrics to keep. */
export interface SidecarProfiles {
  readonly includeUnused?: boolean;
  readonly profiles?: {
    readonly appendProfiles?: ReadonlyArray<{ readonly name: ProfileName }>;
    readonly include?: readonly Selector[];
    readonly exclude?: readonly Selector[];
  };
}

type Select = (value: string) => boolean;

const contains = (match: string): Select => (value) => value.includes(match);
const prefix = (match: string): Select => (value) => value.startsWith(match);
const exact = (match: string): Select => (value) => value === match;

/** Kuma's Basic profile: the golden signals, what its dashboards use, and DNS. */
const BASIC_NAMES: readonly Select[] = [
  ...['rq_time', 'cx_length_ms', 'cx_count', '_rq', 'bytes', 'timeout', 'health_check', 'lb_healthy_panic', 'cx_destroy'].map(contains),
  exact('envoy_cluster_membership_degraded'),
  exact('envoy_cluster_membership_healthy'),
  ...['error', 'fail', 'reset', 'eject', 'overflow', 'cancelled', 'max_duration_reached', 'no_cluster', 'no_route', 'no_filter_chain', 'reject', 'denied', 'days_until_first_cert_expiring'].map(contains),
  prefix('envoy_server'),
  prefix('envoy_control_plane'),
  ...['rbac', 'cx_active', 'cx_connect'].map(contains),
  exact('envoy_cluster_ssl_handshake'),
  exact('envoy_cluster_membership_total'),
  ...['circuit_breakers', 'cx_total', 'ssl_handshake', 'ssl_context_update_by_sds'].map(contains),
  prefix('envoy_dns_filter'),
  prefix('envoy_dns_cares'),
  prefix('kuma_dp_dns'),
];

/**
 * Basic also drops the samples of Kuma's own clusters and listeners: system ones, internal ones
 * (`_` prefix, which covers `_kuma:metrics:opentelemetry`), the bootstrap's, admin and the metrics
 * listener. Envoy writes `:` in stat tags as `_`, so Kuma's `kuma:envoy:admin` never matches a
 * sample: the agent also drops `kuma_envoy_admin` and `kuma_metrics_hijacker`, as Kuma means to.
 */
const BASIC_INTERNAL_ENTITIES: readonly Select[] = [
  prefix('system_'),
  prefix('_'),
  exact('ads_cluster'),
  exact('access_log_sink'),
  exact('kuma:envoy:admin'),
  exact('kuma:metrics:hijacker'),
  exact('kuma_envoy_admin'),
  exact('kuma_metrics_hijacker'),
];

/** Labels that name a cluster or listener. */
const ENTITY_LABELS: ReadonlySet<string> = new Set(['envoy_cluster_name', 'envoy_http_conn_manager_prefix', 'envoy_listener_address']);

/** A selector as a test; a Regex that does not compile selects nothing (kuma-cp validates them). */
export function selectorFunction(selector: Selector): Select {
  switch (selector.type) {
    case 'Contains':
      return contains(selector.match);
    case 'Prefix':
      return prefix(selector.match);
    case 'Exact':
      return exact(selector.match);
    case 'Regex': {
      const regex = compileRe2(selector.match);
      return regex ? (value) => regex.test(value) : () => false;
    }
  }
}

/** Go's RE2 syntax as far as JavaScript shares it, with RE2's leading flag group (`(?i)`) as flags. */
function compileRe2(pattern: string): RegExp | undefined {
  const flagged = /^\(\?([ims]+)\)/.exec(pattern);
  try {
    return flagged ? new RegExp(pattern.slice(flagged[0].length), flagged[1]) : new RegExp(pattern);
  } catch {
    return undefined;
  }
}

const BREADTH: Readonly<Record<ProfileName, number>> = { All: 0, Basic: 1, None: 2 };

/**
 * Kuma's profile filter (ProfileMutatorGenerator): a family is kept when the broadest appended
 * profile selects its name (Basic when none is given; All > Basic > None), unless an exclude
 * selector matches, unless an include selector matches. Under Basic, samples of Kuma's internal
 * clusters and listeners are dropped too, and a family left without samples goes.
 */
export function profileFilter(sidecar: SidecarProfiles | undefined): (families: readonly Family[]) => Family[] {
  const appended = sidecar?.profiles?.appendProfiles?.map((profile) => profile.name) ?? [];
  const profile = appended.length === 0 ? 'Basic' : [...appended].sort((a, b) => BREADTH[a] - BREADTH[b])[0]!;
  const selected: Select = profile === 'All' ? () => true : profile === 'None' ? () => false : (name) => BASIC_NAMES.some((s) => s(name));
  const excludes = (sidecar?.profiles?.exclude ?? []).map(selectorFunction);
  const includes = (sidecar?.profiles?.include ?? []).map(selectorFunction);
  const internal = (labels: readonly string[]) => {
    for (let i = 0; i < labels.length; i += 2) {
      if (ENTITY_LABELS.has(labels[i]!) && BASIC_INTERNAL_ENTITIES.some((s) => s(labels[i + 1]!))) return true;
    }
    return false;
  };
  return (families) => {
    const kept: Family[] = [];
    for (const family of families) {
      let include = selected(family.name);
      if (excludes.some((s) => s(family.name))) include = false;
      if (includes.some((s) => s(family.name))) include = true;
      if (!include) continue;
      if (profile !== 'Basic') {
        kept.push(family);
        continue;
      }
      const metrics = family.metrics.filter((metric) => !internal(metric.labels));
      if (metrics.length > 0) kept.push(metrics.length === family.metrics.length ? family : { ...family, metrics });
    }
    return kept;
  };
}

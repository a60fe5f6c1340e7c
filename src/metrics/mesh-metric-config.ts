import type { ProfileName, Selector, SelectorType, SidecarProfiles } from './profiles.js';

/** One application MeshMetric scrapes; an empty address means the dataplane's own. */
export interface MeshMetricApplication {
  readonly name?: string;
  readonly address: string;
  readonly port: number;
  readonly path: string;
}

/** What kuma-cp sends on the dynamic configuration's `/meshmetric` (kuma's dpapi.MeshMetricDpConfig). */
export interface MeshMetricConfig {
  readonly applications: readonly MeshMetricApplication[];
  readonly sidecar?: SidecarProfiles;
  readonly extraLabels: Readonly<Record<string, string>>;
}

const PROFILES: readonly ProfileName[] = ['All', 'Basic', 'None'];
const SELECTOR_TYPES: readonly SelectorType[] = ['Prefix', 'Regex', 'Exact', 'Contains'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} is not a list`);
  return value;
}

function selectors(value: unknown, where: string): Selector[] {
  return list(value, where).map((item, i) => {
    if (!isObject(item) || !SELECTOR_TYPES.includes(item.type as SelectorType) || typeof item.match !== 'string') {
      throw new Error(`${where}[${i}] is not a selector of type ${SELECTOR_TYPES.join(', ')} with a match`);
    }
    return { type: item.type as SelectorType, match: item.match };
  });
}

function sidecarOf(value: unknown): SidecarProfiles | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new Error('sidecar is not an object');
  const profiles = value.profiles;
  if (profiles !== undefined && profiles !== null && !isObject(profiles)) throw new Error('sidecar.profiles is not an object');
  return {
    ...(typeof value.includeUnused === 'boolean' && { includeUnused: value.includeUnused }),
    ...(isObject(profiles) && {
      profiles: {
        appendProfiles: list(profiles.appendProfiles, 'sidecar.profiles.appendProfiles').map((item, i) => {
          if (!isObject(item) || !PROFILES.includes(item.name as ProfileName)) {
            throw new Error(`sidecar.profiles.appendProfiles[${i}] is not one of ${PROFILES.join(', ')}`);
          }
          return { name: item.name as ProfileName };
        }),
        include: selectors(profiles.include, 'sidecar.profiles.include'),
        exclude: selectors(profiles.exclude, 'sidecar.profiles.exclude'),
      },
    }),
  };
}

/** Reads the `/meshmetric` JSON; throws, saying what is wrong, when it is not one. */
export function parseMeshMetricConfig(json: unknown): MeshMetricConfig {
  const metrics = isObject(json) && isObject(json.observability) ? json.observability.metrics : undefined;
  if (!isObject(metrics)) throw new Error('no observability.metrics object');
  const applications = list(metrics.applications, 'applications').map((item, i): MeshMetricApplication => {
    const port = isObject(item) ? item.port : undefined;
    if (!isObject(item) || typeof item.path !== 'string' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`applications[${i}] needs a path and a port`);
    }
    return {
      ...(typeof item.name === 'string' && { name: item.name }),
      address: typeof item.address === 'string' ? item.address : '',
      port,
      path: item.path,
    };
  });
  const extraLabels: Record<string, string> = {};
  const labels = metrics.extraLabels;
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) throw new Error('extraLabels is not an object');
    for (const [key, value] of Object.entries(labels)) {
      if (typeof value !== 'string') throw new Error(`extraLabels.${key} is not a string`);
      extraLabels[key] = value;
    }
  }
  const sidecar = sidecarOf(metrics.sidecar);
  return { applications, extraLabels, ...(sidecar && { sidecar }) };
}

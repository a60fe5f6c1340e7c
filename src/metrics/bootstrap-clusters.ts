import YAML from 'yaml';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The static clusters of an Envoy bootstrap: the ones kuma-cp puts there itself (ADS, the
 * access-log sink), whose samples the merged scrape does not mark as mesh traffic. Each also as
 * Envoy writes it in a stat tag, `:` turned into `_` (`kuma:ads` is `kuma_ads` in the metrics).
 */
export function staticClusterNames(bootstrapYaml: string): ReadonlySet<string> {
  const doc: unknown = YAML.parse(bootstrapYaml);
  const resources = isObject(doc) ? (doc.staticResources ?? doc.static_resources) : undefined;
  const clusters = isObject(resources) ? resources.clusters : undefined;
  const names = Array.isArray(clusters) ? clusters.map((cluster) => (isObject(cluster) ? cluster.name : undefined)) : [];
  return new Set(names.filter((name): name is string => typeof name === 'string').flatMap((name) => [name, name.replaceAll(':', '_')]));
}

/** staticClusterNames, remembered for the last bootstrap: a scrape must not parse YAML each time. */
export function cachedStaticClusterNames(): (bootstrapYaml: string) => ReadonlySet<string> {
  let last: { yaml: string; names: ReadonlySet<string> } | undefined;
  return (yaml) => {
    if (last?.yaml !== yaml) last = { yaml, names: staticClusterNames(yaml) };
    return last.names;
  };
}

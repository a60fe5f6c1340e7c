import { isMap, isSeq, type Document } from 'yaml';

/**
 * The static clusters of an Envoy bootstrap: the ones kuma-cp puts there itself (ADS, the
 * access-log sink), whose samples the merged scrape does not mark as mesh traffic. Each also as
 * Envoy writes it in a stat tag, `:` turned into `_` (`kuma:ads` is `kuma_ads` in the metrics).
 */
export function staticClusterNames(bootstrap: Document): ReadonlySet<string> {
  const resources = bootstrap.get('staticResources') ?? bootstrap.get('static_resources');
  const clusters = isMap(resources) ? resources.get('clusters') : undefined;
  const names = isSeq(clusters) ? clusters.items.map((cluster) => (isMap(cluster) ? cluster.get('name') : undefined)) : [];
  return new Set(names.filter((name): name is string => typeof name === 'string').flatMap((name) => [name, name.replaceAll(':', '_')]));
}

/** staticClusterNames, remembered for the last bootstrap: a scrape must not walk it each time. */
export function cachedStaticClusterNames(): (bootstrap: Document) => ReadonlySet<string> {
  let last: { bootstrap: Document; names: ReadonlySet<string> } | undefined;
  return (bootstrap) => {
    if (last?.bootstrap !== bootstrap) last = { bootstrap, names: staticClusterNames(bootstrap) };
    return last.names;
  };
}

/** Go's url.QueryEscape: only letters, digits and `-_.~` stay; a space becomes `+`. */
function queryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** A query as Go's url.Values holds it: every value of a key, keys in first-seen order. */
export type QueryValues = Map<string, string[]>;

/** Go's url.ParseQuery, keeping what parses (a bare `usedonly` is `usedonly=`). */
export function parseQuery(search: string): QueryValues {
  const values: QueryValues = new Map();
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '' || part.includes(';')) continue;
    const equals = part.indexOf('=');
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text.replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    };
    const key = decode(equals < 0 ? part : part.slice(0, equals));
    const value = decode(equals < 0 ? '' : part.slice(equals + 1));
    if (key === undefined || value === undefined) continue;
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/** Go's url.Values.Encode: keys sorted, each value `key=value`. */
export function encodeQuery(values: QueryValues): string {
  return [...values.keys()]
    .sort()
    .flatMap((key) => values.get(key)!.map((value) => `${queryEscape(key)}=${queryEscape(value)}`))
    .join('&');
}

function add(values: QueryValues, key: string, value: string): QueryValues {
  const copy = new Map(values);
  copy.set(key, [...(values.get(key) ?? []), value]);
  return copy;
}

/**
 * The query Envoy's `/stats` is asked with on the merged scrape: the scraper's own query plus
 * `format=prometheus&text_readouts=` (Kuma's AddPrometheusFormat).
 */
export function envoyStatsQuery(incomingSearch: string): string {
  return encodeQuery(add(add(parseQuery(incomingSearch), 'format', 'prometheus'), 'text_readouts', ''));
}

/**
 * The query of the MeshMetric scrape of Envoy: no query from the scraper, Prometheus format, and
 * `usedonly` unless the policy's `sidecar.includeUnused` is true. (Kuma sends `usedonly` even
 * then, so that includeUnused has no effect there; the agent does what the policy says.)
 */
export function envoyMeshMetricQuery(includeUnused: boolean): string {
  let values = add(add(new Map(), 'format', 'prometheus'), 'text_readouts', '');
  if (!includeUnused) values = add(values, 'usedonly', '');
  return encodeQuery(values);
}

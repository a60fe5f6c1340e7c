import type { Lease } from './buffer-pool.js';
import { CONTENT_TYPES, joinParts, selectFormat, type SourceFormat } from './content-type.js';
import type { Family } from './model.js';
import type { Progress, Scraped, ScrapeTarget } from './scraper.js';
import { parseText } from './text-parse.js';
import { writeFamily } from './text-write.js';
import { EnvoyRewriter } from './rewrite-plan.js';

export type Fetch = (target: ScrapeTarget, progress?: Progress) => Promise<Scraped>;

export interface Sources {
  readonly applications: readonly ScrapeTarget[];
  /** Undefined while no Envoy's admin address is known. */
  readonly envoy?: ScrapeTarget;
  readonly fetch: Fetch;
  /** The agent's own metrics as Prometheus text. */
  readonly own?: () => Promise<string>;
  /** Told of every source that contributes nothing, and why. */
  readonly failed: (target: ScrapeTarget, error: Error) => void;
}

/** Fetches every source at once (Envoy's body read as it arrives, with `envoyProgress`); a failed one is reported and left out. */
async function fetchAll(sources: Sources, envoyProgress?: Progress): Promise<Array<{ target: ScrapeTarget; scraped: Scraped }>> {
  const targets = [...sources.applications, ...(sources.envoy ? [sources.envoy] : [])];
  const results = await Promise.all(
    targets.map((target) =>
      sources.fetch(target, target === sources.envoy ? envoyProgress : undefined).then(
        (scraped) => ({ target, scraped }),
        (error: Error) => {
          sources.failed(target, error);
          return undefined;
        },
      ),
    ),
  );
  const answered = results.filter((result) => result !== undefined);
  return answered.filter(({ target, scraped }) => {
    if (scraped.format !== 'protobuf') return true;
    sources.failed(target, new Error('answered in binary protobuf, which cannot be merged with text: it must accept text/plain'));
    return false;
  });
}

/**
 * The sources' answers and the agent's own metrics. Those take the agent a millisecond of CPU:
 * made once the requests to the sources are on their way (Node sends them on the next tick), not
 * before, so that the sources work meanwhile.
 */
async function fetchWithOwn(sources: Sources, envoyProgress?: Progress): Promise<[Awaited<ReturnType<typeof fetchAll>>, string | undefined]> {
  const answers = fetchAll(sources, envoyProgress);
  await new Promise((resolve) => setImmediate(resolve));
  return Promise.all([answers, sources.own?.()]);
}

/**
 * The merged scrape (any path but `/meshmetric`): the applications' bodies as they came, Envoy's
 * with Kuma's rewrite, then the agent's own metrics, joined as Kuma joins them, in the best
 * format any source answered in. The answer is the pieces to write one after another; Envoy's
 * values are read as its text arrives, and its rewrite is written into the lease's buffers, when
 * there is one.
 */
export async function mergedScrape(
  sources: Sources,
  bootstrapClusters: ReadonlySet<string>,
  rewriter = new EnvoyRewriter(),
  lease?: Lease,
): Promise<{ parts: Buffer[]; contentType: string }> {
  const reading = sources.envoy && rewriter.reading(bootstrapClusters);
  const [answers, own] = await fetchWithOwn(sources, reading?.progress);
  const take = lease ? (size: number) => lease.take(size) : (size: number) => Buffer.allocUnsafe(size);
  const bodies: Array<string | Buffer> = [];
  const formats: SourceFormat[] = [];
  for (const { target, scraped } of answers) {
    let body = scraped.body;
    if (target === sources.envoy) {
      try {
        body = reading!.finish(scraped.body, take);
      } catch (error) {
        sources.failed(target, error as Error);
        continue;
      }
    }
    bodies.push(body);
    formats.push(scraped.format);
  }
  if (own !== undefined) bodies.push(own);
  const format = selectFormat(formats);
  return { parts: joinParts(bodies, format), contentType: CONTENT_TYPES[format] };
}

/**
 * A label name Prometheus 0.0.4 text can carry: MeshMetric's extra labels (`kuma.proxy_role`)
 * lose their other characters as in Kuma's OpenTelemetry exporter.
 */
export function promLabelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}

function withLabels(family: Family, extra: ReadonlyArray<readonly [string, string]>): Family {
  if (extra.length === 0) return family;
  const names = new Set(extra.map(([name]) => name));
  return {
    ...family,
    metrics: family.metrics.map((metric) => {
      const labels: string[] = [];
      for (let i = 0; i < metric.labels.length; i += 2) {
        if (!names.has(metric.labels[i]!)) labels.push(metric.labels[i]!, metric.labels[i + 1]!);
      }
      for (const [name, value] of extra) labels.push(name, value);
      return { ...metric, labels };
    }),
  };
}

/**
 * The MeshMetric scrape (`/meshmetric*`): the applications', Envoy's (through the policy's
 * profiles) and the agent's own metrics, each sample with the policy's extra labels, as Prometheus
 * text. A family two sources export is written once, with the samples of both.
 */
export async function meshMetricScrape(
  sources: Sources,
  profiles: (families: readonly Family[]) => Family[],
  extraLabels: Readonly<Record<string, string>>,
): Promise<string> {
  const [answers, own] = await fetchWithOwn(sources);
  const byName = new Map<string, Family>();
  const add = (families: readonly Family[]) => {
    for (const family of families) {
      const known = byName.get(family.name);
      if (!known) byName.set(family.name, { ...family, metrics: [...family.metrics] });
      else if (known.type === family.type) known.metrics.push(...family.metrics);
    }
  };
  for (const { target, scraped } of answers) {
    try {
      const families = parseText(scraped.body.toString('utf8'));
      add(target === sources.envoy ? profiles(families) : families);
    } catch (error) {
      sources.failed(target, error as Error);
    }
  }
  if (own !== undefined) add(parseText(own));
  const extra = Object.entries(extraLabels).map(([key, value]) => [promLabelName(key), value] as const);
  let out = '';
  for (const family of byName.values()) out += writeFamily(withLabels(family, extra));
  return out;
}

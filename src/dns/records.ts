import { isIP } from 'node:net';

/** One name and its addresses, IPv4 and IPv6 mixed: an entry of kuma-cp's `/dns` configuration. */
export interface NameRecord {
  readonly name: string;
  readonly ips: readonly string[];
}

/** kuma-cp's `/dns` dynamic configuration (pkg/dns/dpapi): `{records, ttl, extraLabels}`. */
export interface DnsConfig {
  readonly records: readonly NameRecord[];
  readonly ttl: number;
  /** Labels kuma-cp wants on the DNS metrics (mesh, workload, namespace, zone). */
  readonly extraLabels: Readonly<Record<string, string>>;
}

/** Checks the shape of a parsed `/dns` body; throws saying what is wrong. */
export function parseDnsConfig(value: unknown): DnsConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the /dns configuration is not a JSON object');
  const fields = value as Record<string, unknown>;
  const ttl = fields.ttl ?? 0;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 0xffffffff) throw new Error(`the /dns ttl ${JSON.stringify(ttl)} is not a number of seconds`);
  const records = fields.records ?? [];
  if (!Array.isArray(records)) throw new Error('the /dns records are not a list');
  const extraLabels = fields.extraLabels ?? {};
  if (typeof extraLabels !== 'object' || extraLabels === null || Array.isArray(extraLabels) || Object.values(extraLabels).some((v) => typeof v !== 'string')) {
    throw new Error('the /dns extraLabels are not a map of strings');
  }
  return {
    ttl,
    extraLabels: extraLabels as Record<string, string>,
    records: records.map((record: unknown, index) => {
      const entry = record as Partial<Record<string, unknown>> | null;
      if (typeof entry?.name !== 'string' || !Array.isArray(entry.ips) || entry.ips.some((ip) => typeof ip !== 'string')) {
        throw new Error(`/dns record ${index} is not {name, ips}`);
      }
      return { name: entry.name, ips: entry.ips as string[] };
    }),
  };
}

/** The addresses of one name, by family. An empty family answers NODATA, as Go kuma-dp does. */
export interface Entry {
  readonly a: readonly string[];
  readonly aaaa: readonly string[];
  readonly ttl: number;
}

/** Names to answer locally: lower-case, no trailing dot (DNS names compare without case). */
export class RecordTable {
  private constructor(private readonly entries: ReadonlyMap<string, Entry>) {}

  static readonly empty = new RecordTable(new Map());

  /**
   * The table for these records, merged per name. Addresses that are not IPs are skipped and
   * returned, for the caller to log; `::ffff:a.b.c.d` answers A, as Go's miekg/dns packs it.
   */
  static of(records: readonly NameRecord[], ttl: number): { table: RecordTable; invalid: string[] } {
    const entries = new Map<string, { a: string[]; aaaa: string[]; ttl: number }>();
    const invalid: string[] = [];
    for (const record of records) {
      const name = normalizeName(record.name);
      let entry = entries.get(name);
      if (!entry) entries.set(name, (entry = { a: [], aaaa: [], ttl }));
      for (const ip of record.ips) {
        const family = isIP(ip);
        const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] : undefined;
        const list = family === 4 || mapped ? entry.a : family === 6 ? entry.aaaa : undefined;
        const address = mapped ?? ip;
        if (!list) invalid.push(`${record.name}: ${ip}`);
        else if (!list.includes(address)) list.push(address);
      }
    }
    return { table: new RecordTable(entries), invalid };
  }

  /** Both tables' names; a name in both gets the addresses of both. */
  merge(other: RecordTable): RecordTable {
    if (other.entries.size === 0) return this;
    if (this.entries.size === 0) return other;
    const merged = new Map(this.entries);
    for (const [name, entry] of other.entries) {
      const mine = merged.get(name);
      merged.set(name, mine ? { a: [...new Set([...mine.a, ...entry.a])], aaaa: [...new Set([...mine.aaaa, ...entry.aaaa])], ttl: Math.min(mine.ttl, entry.ttl) } : entry);
    }
    return new RecordTable(merged);
  }

  lookup(name: string): Entry | undefined {
    return this.entries.get(normalizeName(name));
  }

  get size(): number {
    return this.entries.size;
  }
}

function normalizeName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

import { isIP } from 'node:net';
import YAML from 'yaml';
import { UserError } from '../errors.js';

// The part of `kumactl install transparent-proxy --config` that kuma-cp needs to know about, sent
// as the bootstrap request's `dataplaneConfig` (Kuma's pkg/transparentproxy/config/dataplane). The
// rest of kumactl's file (excluded ports, uids, iptables paths...) concerns iptables only.

export type IpFamilyMode = 'dualstack' | 'ipv4';

export interface TrafficFlow {
  readonly enabled: boolean;
  readonly port: number;
}

/** The bootstrap request's `dataplaneConfig`, field for field as Go kuma-dp sends it. */
export interface DataplaneConfig {
  readonly ipFamilyMode: IpFamilyMode;
  readonly redirect: {
    readonly inbound: TrafficFlow;
    readonly outbound: TrafficFlow;
    readonly dns: TrafficFlow;
    /** `interface:CIDR` networks whose traffic iptables redirects too (e.g. docker0:172.17.0.0/16). */
    readonly vnet: { readonly networks?: readonly string[] };
  };
}

/** One value of --transparent-proxy-config, read at the edge (cli/run.ts). */
export interface TransparentProxyDocument {
  /** The path as given, or - for stdin. */
  readonly source: string;
  readonly text: string;
}

// kumactl's defaults (pkg/transparentproxy/config DefaultConfig, pkg/transparentproxy/consts).
const DEFAULTS = { ipFamilyMode: 'dualstack', inbound: { enabled: true, port: 15006 }, outbound: { enabled: true, port: 15001 } } as const;

type Fields = Record<string, unknown>;
const isMapping = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * kumactl's defaults, then each document in order, a later value replacing an earlier one, as Go
 * kuma-dp loads them. The DNS redirect is not the file's to say: like Go, it is this agent's DNS
 * proxy (its port, and whether it runs).
 */
export function parseTransparentProxyConfig(documents: readonly TransparentProxyDocument[], dns: { readonly enabled: boolean; readonly proxyPort: number }): DataplaneConfig {
  let ipFamilyMode: IpFamilyMode = DEFAULTS.ipFamilyMode;
  let inbound: TrafficFlow = DEFAULTS.inbound;
  let outbound: TrafficFlow = DEFAULTS.outbound;
  let networks: readonly string[] = [];
  for (const document of documents) {
    const origin = `--transparent-proxy-config ${document.source === '-' ? '(stdin)' : document.source}`;
    const fail = (what: string): never => {
      throw new UserError(`${origin}: ${what}`);
    };
    let parsed: unknown;
    try {
      parsed = YAML.parse(document.text);
    } catch (error) {
      fail(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (parsed === null || parsed === undefined) continue;
    if (!isMapping(parsed)) fail('expected the YAML of `kumactl install transparent-proxy --config` (a mapping)');
    const fields = parsed as Fields;
    if (fields.ipFamilyMode !== undefined) ipFamilyMode = ipFamilyModeOf(fields.ipFamilyMode, fail);
    const redirect = fields.redirect;
    if (redirect === undefined || redirect === null) continue;
    if (!isMapping(redirect)) fail('redirect must be a mapping');
    const flows = redirect as Fields;
    inbound = trafficFlowOf(flows.inbound, inbound, 'redirect.inbound', fail);
    outbound = trafficFlowOf(flows.outbound, outbound, 'redirect.outbound', fail);
    // Checked for the operator's sake, then replaced by the DNS proxy's own settings.
    trafficFlowOf(flows.dns, { enabled: false, port: dns.proxyPort }, 'redirect.dns', fail);
    if (isMapping(flows.vnet) && flows.vnet.networks !== undefined) networks = networksOf(flows.vnet.networks, fail);
  }
  return {
    ipFamilyMode,
    redirect: {
      inbound,
      outbound,
      dns: { enabled: dns.enabled, port: dns.proxyPort },
      vnet: networks.length > 0 ? { networks } : {},
    },
  };
}

function ipFamilyModeOf(value: unknown, fail: (what: string) => never): IpFamilyMode {
  const text = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (text === '') return 'dualstack';
  if (text === 'dualstack' || text === 'ipv4') return text;
  return fail(`ipFamilyMode ${JSON.stringify(value)} must be 'dualstack' or 'ipv4'`);
}

function trafficFlowOf(value: unknown, current: TrafficFlow, path: string, fail: (what: string) => never): TrafficFlow {
  if (value === undefined || value === null) return current;
  if (!isMapping(value)) return fail(`${path} must be a mapping with enabled and port`);
  let { enabled, port } = current;
  if (value.enabled !== undefined) {
    if (typeof value.enabled !== 'boolean') fail(`${path}.enabled ${JSON.stringify(value.enabled)} must be true or false`);
    enabled = value.enabled as boolean;
  }
  if (value.port !== undefined) {
    const number = value.port;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
      fail(`${path}.port ${JSON.stringify(number)} is not a port (a number from 1 to 65535)`);
    }
    port = number as number;
  }
  return { enabled, port };
}

function networksOf(value: unknown, fail: (what: string) => never): readonly string[] {
  if (!Array.isArray(value)) return fail('redirect.vnet.networks must be a list of interface:CIDR');
  return value.map((network: unknown) => {
    // As kumactl reads it: the interface is everything before the first colon (IPv6 CIDRs have more).
    const text = typeof network === 'string' ? network : '';
    const colon = text.indexOf(':');
    const [address, prefix, extra] = text.slice(colon + 1).split('/');
    const family = isIP(address ?? '');
    const bits = Number(prefix);
    const valid = colon > 0 && family !== 0 && extra === undefined && /^\d+$/.test(prefix ?? '') && bits <= (family === 4 ? 32 : 128);
    if (!valid) fail(`redirect.vnet.networks: ${JSON.stringify(network)} is not interface:CIDR (e.g. docker0:172.17.0.0/16)`);
    return text;
  });
}

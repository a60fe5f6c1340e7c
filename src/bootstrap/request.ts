import type { DataplaneConfig } from '../transparent-proxy/config.js';
import type { TokenFields } from './token.js';

export type ProxyType = 'dataplane' | 'ingress' | 'egress';

/** The Envoy build the agent runs, as `envoy --version` told it. */
export interface EnvoyVersion {
  readonly version: string;
  readonly build: string;
  readonly compatible: boolean;
}

/** The body of `POST /bootstrap`: the modern fields plus 0.x's adminPort, which each CP ignores when foreign. */
export interface BootstrapRequest {
  readonly mesh: string;
  readonly name: string;
  readonly proxyType: ProxyType;
  readonly adminPort?: number;
  readonly dataplaneToken?: string;
  readonly dataplaneTokenPath?: string;
  readonly dataplaneResource?: string;
  readonly caCert?: string;
  readonly version: {
    readonly kumaDp: { readonly version: string; readonly gitTag: string; readonly gitCommit: string; readonly buildDate: string };
    readonly envoy: { readonly version: string; readonly build: string; readonly kumaDpCompatible: boolean };
  };
  readonly dynamicMetadata: Readonly<Record<string, string>>;
  readonly dnsPort?: number;
  readonly readinessPort?: number;
  readonly operatingSystem: string;
  readonly features: readonly string[];
  readonly resources: { readonly maxHeapSizeBytes?: number };
  readonly workdir: string;
  readonly dataplaneConfig?: DataplaneConfig;
}

export interface BootstrapRequestInput {
  readonly mesh: string;
  readonly name: string;
  readonly proxyType: ProxyType;
  readonly adminPort?: number;
  readonly readinessPort?: number;
  readonly envoy: EnvoyVersion;
  readonly agentVersion: string;
  readonly workdir: string;
  readonly platform: NodeJS.Platform;
  readonly dataplaneResource?: string;
  readonly token?: TokenFields;
  /** PEM of the CA the agent trusts for the control plane. */
  readonly caCert?: string;
  readonly hostIp?: string;
  /** The cgroup's memory limit, for the CP to size Envoy's heap by. */
  readonly maxHeapSizeBytes?: number;
  /** The DNS proxy's port while it runs: kuma-cp takes DNS redirection to be on when it is set. */
  readonly dnsPort?: number;
  /** kumactl's transparent-proxy configuration, when the dataplane runs behind it. */
  readonly dataplaneConfig?: DataplaneConfig;
  /**
   * What kuma-cp may rely on: each feature promises a part of the agent that runs (the components'
   * own `features`); claiming one that does not run makes the CP generate config nobody serves.
   */
  readonly features: readonly string[];
}

// kuma-cp reads `dataplaneConfig` only from a dataplane that sends this feature
// (pkg/transparentproxy/config/dataplane GetDataplaneConfig): the two go together.
export const FEATURE_TRANSPARENT_PROXY_IN_METADATA = 'feature-transparent-proxy-in-dataplane-metadata';

export function buildBootstrapRequest(input: BootstrapRequestInput): BootstrapRequest {
  return {
    mesh: input.mesh,
    name: input.name,
    proxyType: input.proxyType,
    ...(input.adminPort !== undefined && { adminPort: input.adminPort }),
    ...input.token,
    ...(input.dataplaneResource !== undefined && { dataplaneResource: input.dataplaneResource }),
    ...(input.caCert !== undefined && { caCert: input.caCert }),
    version: {
      // No build stamping yet: the tag is the package version, the rest unknown rather than invented.
      kumaDp: { version: input.agentVersion, gitTag: `v${input.agentVersion}`, gitCommit: 'unknown', buildDate: 'unknown' },
      envoy: { version: input.envoy.version, build: input.envoy.build, kumaDpCompatible: input.envoy.compatible },
    },
    dynamicMetadata: input.hostIp === undefined ? {} : { HOST_IP: input.hostIp },
    ...(input.dnsPort !== undefined && { dnsPort: input.dnsPort }),
    ...(input.readinessPort ? { readinessPort: input.readinessPort } : {}),
    operatingSystem: input.platform,
    features: [...input.features, ...(input.dataplaneConfig ? [FEATURE_TRANSPARENT_PROXY_IN_METADATA] : [])],
    resources: input.maxHeapSizeBytes === undefined ? {} : { maxHeapSizeBytes: input.maxHeapSizeBytes },
    workdir: input.workdir,
    ...(input.dataplaneConfig && { dataplaneConfig: input.dataplaneConfig }),
  };
}

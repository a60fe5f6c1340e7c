import type { DataplaneConfig } from '../transparent-proxy/config.js';
import type { AgentBuild } from '../version.js';
import type { TokenFields } from './token.js';

export type ProxyType = 'dataplane' | 'ingress' | 'egress';

/** The Envoy build the agent runs, as `envoy --version` told it. */
export interface EnvoyVersion {
  readonly version: string;
  readonly build: string;
  readonly compatible: boolean;
}

/**
 * The body of `POST /bootstrap`, with the fields of kuma-cp's BootstrapRequest
 * (pkg/xds/bootstrap/types/bootstrap_request.go) in its order, plus 0.x–1.7's adminPort, which
 * each CP ignores when foreign. A field kuma-cp always gets from Go kuma-dp is always sent, empty
 * when there is nothing to say, so that kuma-cp sees what it would see from Go.
 */
export interface BootstrapRequest {
  readonly mesh: string;
  readonly name: string;
  readonly proxyType: ProxyType;
  readonly adminPort?: number;
  readonly dataplaneToken?: string;
  readonly dataplaneTokenPath?: string;
  readonly dataplaneResource?: string;
  readonly version: {
    readonly kumaDp: { readonly version: string; readonly gitTag: string; readonly gitCommit: string; readonly buildDate: string };
    readonly envoy: { readonly version: string; readonly build: string; readonly kumaDpCompatible: boolean };
  };
  readonly caCert: string;
  readonly dynamicMetadata: Readonly<Record<string, string>>;
  readonly dnsPort?: number;
  readonly readinessPort: number;
  readonly operatingSystem: string;
  readonly features: readonly string[];
  readonly resources: { readonly maxHeapSizeBytes: number };
  readonly workdir: string;
  readonly metricsResources: { readonly certPath: string; readonly keyPath: string };
  readonly systemCaPath: string;
  readonly dataplaneConfig?: DataplaneConfig;
  readonly ipv6Enabled: boolean;
  readonly spireResources: { readonly socketPath: string };
}

export interface BootstrapRequestInput {
  readonly mesh: string;
  readonly name: string;
  readonly proxyType: ProxyType;
  readonly adminPort?: number;
  /**
   * Where kuma-dp's readiness endpoint listens. kuma-cp's AdminProxyGenerator routes the public
   * `/ready` to it and fails to build the proxy's configuration without one.
   */
  readonly readinessPort: number;
  readonly envoy: EnvoyVersion;
  readonly agent: AgentBuild;
  readonly workdir: string;
  readonly platform: NodeJS.Platform;
  readonly dataplaneResource?: string;
  readonly token?: TokenFields;
  /** PEM of the CA the agent trusts for the control plane. */
  readonly caCert?: string;
  readonly hostIp?: string;
  /** The memory the proxy may use, for the CP to size Envoy's heap by; undefined when unlimited. */
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
  readonly metrics?: { readonly certPath: string; readonly keyPath: string };
  /** The OS CA bundle Envoy may verify external services against ('' when none was found). */
  readonly systemCaPath: string;
  readonly ipv6Enabled: boolean;
  readonly spireSocketPath?: string;
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
    version: {
      kumaDp: { version: input.agent.reportedVersion, gitTag: input.agent.gitTag, gitCommit: input.agent.gitCommit, buildDate: input.agent.buildDate },
      envoy: { version: input.envoy.version, build: input.envoy.build, kumaDpCompatible: input.envoy.compatible },
    },
    caCert: input.caCert ?? '',
    dynamicMetadata: input.hostIp === undefined ? {} : { HOST_IP: input.hostIp },
    ...(input.dnsPort !== undefined && { dnsPort: input.dnsPort }),
    readinessPort: input.readinessPort,
    operatingSystem: input.platform,
    features: [...input.features, ...(input.dataplaneConfig ? [FEATURE_TRANSPARENT_PROXY_IN_METADATA] : [])],
    resources: { maxHeapSizeBytes: input.maxHeapSizeBytes ?? 0 },
    workdir: input.workdir,
    metricsResources: { certPath: input.metrics?.certPath ?? '', keyPath: input.metrics?.keyPath ?? '' },
    systemCaPath: input.systemCaPath,
    ...(input.dataplaneConfig !== undefined && { dataplaneConfig: input.dataplaneConfig }),
    ipv6Enabled: input.ipv6Enabled,
    spireResources: { socketPath: input.spireSocketPath ?? '' },
  };
}

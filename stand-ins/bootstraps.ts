// Envoy bootstraps in the shape kuma-cp sends them (CONTRACTS.md §1), built here so that the
// project's own tests need nothing beside the project. conformance/bootstraps.test.ts holds these
// to Kuma's real golden files.
import { stringify } from 'yaml';

export type BootstrapGeneration = 'modern' | 'legacy';

export interface BootstrapShape {
  readonly mesh?: string;
  readonly name?: string;
  /** The admin port the control plane chose; 0 leaves the admin block out (as 0.2 does for adminPort 0). */
  readonly adminPort?: number;
  /** The host the control plane puts the admin on (127.0.0.1). */
  readonly adminHost?: string;
  /** The modern CP's admin on a unix socket (`admin.address.pipe.path`) instead of a port. */
  readonly adminSocket?: string;
  readonly token?: string;
  /** The control plane's xDS address. */
  readonly cp?: { readonly host: string; readonly port: number };
}

/** The admin port of each generation's example bootstrap, as in Kuma's golden files. */
export const DEFAULT_ADMIN_PORT: Readonly<Record<BootstrapGeneration, number>> = { modern: 1234, legacy: 9901 };

function adminAddress(shape: BootstrapShape, port: number): object {
  return shape.adminSocket ? { pipe: { path: shape.adminSocket } } : { socketAddress: { address: shape.adminHost ?? '127.0.0.1', portValue: port } };
}

/** Today's DP server (Kuma 1.0 and later): camelCase v3, delta ADS carrying the token, admin in the node metadata too. */
function modern(shape: Required<Omit<BootstrapShape, 'adminSocket' | 'adminHost'>> & BootstrapShape): object {
  const grpc = { envoyGrpc: { clusterName: 'kuma:ads' }, initialMetadata: [{ key: 'authorization', value: shape.token }] };
  const adminMetadata = shape.adminSocket
    ? { 'dataplane.admin.socketPath': shape.adminSocket }
    : { 'dataplane.admin.address': shape.adminHost ?? '127.0.0.1', 'dataplane.admin.port': String(shape.adminPort) };
  return {
    ...(shape.adminPort !== 0 && {
      admin: {
        accessLog: [{ name: 'envoy.access_loggers.file', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/dev/null' } }],
        address: adminAddress(shape, shape.adminPort),
      },
    }),
    dynamicResources: {
      adsConfig: { apiType: 'DELTA_GRPC', grpcServices: [grpc], setNodeOnFirstMessageOnly: true, transportApiVersion: 'V3' },
      cdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' },
      ldsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' },
    },
    node: {
      cluster: shape.name,
      id: `${shape.mesh}.${shape.name}`,
      metadata: { ...adminMetadata, 'dataplane.proxyType': 'dataplane', features: [], workdir: '/tmp' },
    },
    staticResources: {
      clusters: [
        {
          name: 'kuma:ads',
          type: 'STRICT_DNS',
          connectTimeout: '1s',
          loadAssignment: {
            clusterName: 'kuma:ads',
            endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: shape.cp.host, portValue: shape.cp.port } } } }] }],
          },
          typedExtensionProtocolOptions: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicitHttpConfig: { http2ProtocolOptions: {} },
            },
          },
        },
      ],
    },
  };
}

/** The 0.2 bootstrap server's answer: GRPC ADS on ads_cluster, no token, no admin block when the port is 0. */
function legacy(shape: Required<Omit<BootstrapShape, 'adminSocket' | 'adminHost'>> & BootstrapShape): object {
  return {
    ...(shape.adminPort !== 0 && { admin: { accessLogPath: '/dev/null', address: adminAddress({ adminHost: shape.adminHost }, shape.adminPort) } }),
    dynamicResources: {
      adsConfig: { apiType: 'GRPC', grpcServices: [{ envoyGrpc: { clusterName: 'ads_cluster' } }] },
      cdsConfig: { ads: {} },
      ldsConfig: { ads: {} },
    },
    node: { cluster: shape.name, id: `${shape.name}.${shape.mesh}.default` },
    staticResources: {
      clusters: [
        {
          name: 'ads_cluster',
          type: 'STRICT_DNS',
          connectTimeout: '0.250s',
          http2ProtocolOptions: {},
          loadAssignment: {
            clusterName: 'ads_cluster',
            endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: shape.cp.host, portValue: shape.cp.port } } } }] }],
          },
        },
      ],
    },
  };
}

/** A bootstrap as a control plane of that generation sends it, as YAML text. */
export function buildBootstrap(generation: BootstrapGeneration, shape: BootstrapShape = {}): string {
  const full = {
    mesh: 'default',
    name: 'dp-1',
    adminPort: DEFAULT_ADMIN_PORT[generation],
    token: 'token',
    cp: { host: 'localhost', port: 5678 },
    ...shape,
  };
  return stringify(generation === 'modern' ? modern(full) : legacy(full));
}

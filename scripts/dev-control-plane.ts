import { startControlPlane, type ControlPlane } from '../test/stand-ins/control-plane.js';

/** The bookinfo dataplanes the dev control plane knows, with the admin port each runs Envoy on. */
export const BOOKINFO = [
  { name: 'ratings-v1', adminPort: 9901 },
  { name: 'details-v1', adminPort: 9903 },
  { name: 'reviews-v1', adminPort: 9904 },
  { name: 'reviews-v2', adminPort: 9905 },
  { name: 'reviews-v3', adminPort: 9906 },
  { name: 'productpage-v1', adminPort: 9907 },
] as const;

/**
 * A bootstrap shaped like a modern kuma-cp's for one dataplane: node id <mesh>.<name>, the admin
 * address asked for, and ADS pointing back at the dev control plane. The dev CP speaks no xDS, so a
 * real Envoy goes LIVE only after its initial fetch timeout; the stand-in Envoy simulates config.
 */
export function devBootstrap(body: Record<string, unknown>, cpPort: number): string {
  const mesh = String(body.mesh ?? 'default');
  const name = String(body.name ?? '');
  const adminPort = Number(body.adminPort ?? 9901);
  return `admin:
  address:
    socketAddress:
      address: 127.0.0.1
      portValue: ${adminPort}
dynamicResources:
  adsConfig:
    apiType: GRPC
    grpcServices:
    - envoyGrpc:
        clusterName: ads_cluster
    transportApiVersion: V3
  cdsConfig:
    ads: {}
    resourceApiVersion: V3
  ldsConfig:
    ads: {}
    resourceApiVersion: V3
node:
  cluster: ${name.replace(/-v\d+$/, '')}
  id: ${mesh}.${name}
staticResources:
  clusters:
  - connectTimeout: 1s
    loadAssignment:
      clusterName: ads_cluster
      endpoints:
      - lbEndpoints:
        - endpoint:
            address:
              socketAddress:
                address: 127.0.0.1
                portValue: ${cpPort}
    name: ads_cluster
    type: STATIC
`;
}

/** Starts the dev control plane: bootstraps for the bookinfo dataplanes, 404 for any other name. */
export async function startDevControlPlane(port: number): Promise<ControlPlane> {
  return startControlPlane({
    generation: 'modern',
    port,
    dataplanes: BOOKINFO.map((dp) => dp.name),
    bootstrap: (body) => devBootstrap(body, port),
  });
}

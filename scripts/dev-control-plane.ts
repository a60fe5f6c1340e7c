import { startControlPlane, type ControlPlane } from '../stand-ins/control-plane.js';

/** The bookinfo dataplanes the dev control plane knows (the names of templates/dataplanes/). */
export const BOOKINFO = ['ratings-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1'] as const;

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
    dataplanes: [...BOOKINFO],
    bootstrap: (body) => devBootstrap(body, port),
  });
}

import path from 'node:path';

// kuma-cp builds the same paths from the `workdir` of the bootstrap request
// (pkg/core/xds/sockets.go): the path cut to 98 bytes, then `.sock`, to fit the 104 bytes a unix
// socket path may have on every platform. Both sides must cut alike, so this is the one place.
const SOCKET_PATH_BYTES = 98;

export function socketPath(workDir: string, base: string): string {
  const full = Buffer.from(path.join(workDir, base));
  return `${full.subarray(0, SOCKET_PATH_BYTES).toString()}.sock`;
}

/** The agent's metrics socket, which Envoy's Prometheus listener routes to. */
export const metricsSocketPath = (workDir: string, name: string, mesh: string) => socketPath(workDir, `kuma-mh-${name}-${mesh}`);
/** The FIFO Envoy writes TCP access-log lines into (a pipe, despite its name). */
export const accessLogPipePath = (workDir: string, name: string, mesh: string) => socketPath(workDir, `kuma-al-${name}-${mesh}`);
/** Where Envoy serves kuma-cp's dynamic configuration (/dns, /meshmetric). */
export const dynamicConfigSocketPath = (workDir: string) => socketPath(workDir, 'kuma-mesh-metric-config');
/** Envoy's admin, when kuma-cp puts it on a unix socket (the 2.14+ default). */
export const envoyAdminSocketPath = (workDir: string) => socketPath(workDir, 'kuma-envoy-admin');

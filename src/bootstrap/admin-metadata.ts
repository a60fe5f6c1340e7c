import { isMap, isScalar, type Document } from 'yaml';

// The node metadata kuma-cp reads Envoy's admin from (pkg/core/xds/metadata.go). Its
// AdminProxyGenerator builds the admin cluster from them (the socket path wins over the port) and
// exposes the admin on <dataplane address>:<port>; HDS health-checks the socket path when there is
// one. The values are strings, as kuma-cp writes them.
export const ADMIN_METADATA = {
  port: 'dataplane.admin.port',
  address: 'dataplane.admin.address',
  socketPath: 'dataplane.admin.socketPath',
} as const;
const { port: PORT, address: ADDRESS, socketPath: SOCKET_PATH } = ADMIN_METADATA;

const METADATA = ['node', 'metadata'];

/** The admin port the node metadata tells kuma-cp (`dataplane.admin.port`), if it names one. */
export function metadataAdminPort(doc: Document): number | undefined {
  const node = doc.getIn([...METADATA, PORT], true);
  const text = isScalar(node) && node.value !== null ? String(node.value) : '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Makes the node metadata describe the TCP admin the agent gave Envoy: the port and address
 * kuma-cp's admin cluster must reach, and no socket path, which would otherwise win over them.
 */
export function describeTcpAdmin(doc: Document, admin: { readonly host: string; readonly port: number }): void {
  if (!isMap(doc.getIn(METADATA))) doc.setIn(METADATA, doc.createNode({}));
  doc.setIn([...METADATA, PORT], String(admin.port));
  doc.setIn([...METADATA, ADDRESS], admin.host);
  doc.deleteIn([...METADATA, SOCKET_PATH]);
}

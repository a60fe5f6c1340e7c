import YAML, { isMap, type Document } from 'yaml';

export type AdminAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'pipe'; readonly path: string };

const DEFAULT_ADMIN_PORT = 9901;
const LOOPBACK = '127.0.0.1';

export interface AdminRewrite {
  /** The bootstrap Envoy is given. Byte-identical to the input unless the admin address changed. */
  readonly yaml: string;
  readonly admin: AdminAddress;
  /** The control plane's admin address when the agent replaced or added one. */
  readonly replaced?: AdminAddress | 'none';
}

export function formatAdminAddress(admin: AdminAddress): string {
  return admin.kind === 'tcp' ? `${admin.host}:${admin.port}` : `unix:${admin.path}`;
}

function readAdmin(doc: Document): AdminAddress | undefined {
  const address = doc.getIn(['admin', 'address']);
  if (!isMap(address)) return undefined;
  const plain = address.toJSON() as Record<string, Record<string, unknown> | undefined>;
  const socket = plain.socketAddress ?? plain.socket_address;
  if (socket) {
    const port = Number(socket.portValue ?? socket.port_value);
    return { kind: 'tcp', host: String(socket.address ?? LOOPBACK), port };
  }
  const pipe = plain.pipe;
  return typeof pipe?.path === 'string' ? { kind: 'pipe', path: pipe.path } : undefined;
}

/**
 * Makes the bootstrap's admin address the one the operator asked for: `--admin-port` wins over the
 * control plane's choice; without it the CP's address stands, and a bootstrap with none (0.x sends
 * none when no port was asked for) gets 127.0.0.1:9901. The rest of the document is kept as sent.
 */
export function applyAdminAddress(yaml: string, adminPort: number | undefined): AdminRewrite {
  const doc = YAML.parseDocument(yaml);
  const current = readAdmin(doc);
  const wanted: AdminAddress | undefined =
    adminPort !== undefined
      ? { kind: 'tcp', host: LOOPBACK, port: adminPort }
      : current ?? { kind: 'tcp', host: LOOPBACK, port: DEFAULT_ADMIN_PORT };
  if (current && formatAdminAddress(current) === formatAdminAddress(wanted)) {
    return { yaml, admin: current };
  }
  const snakeCase = doc.has('static_resources') || doc.has('dynamic_resources');
  const port = (wanted as { port: number }).port;
  const address = snakeCase
    ? { socket_address: { address: LOOPBACK, port_value: port } }
    : { socketAddress: { address: LOOPBACK, portValue: port } };
  doc.setIn(['admin', 'address'], doc.createNode(address));
  // Keep the CP's layout: block sequences flush with their key when it wrote them so.
  const indentSeq = !/^( *)[^\s#-][^\n]*:\n\1- /m.test(yaml);
  let text = doc.toString({ lineWidth: 0, indentSeq });
  if (!yaml.endsWith('\n')) text = text.replace(/\n$/, '');
  return { yaml: text, admin: wanted, replaced: current ?? 'none' };
}

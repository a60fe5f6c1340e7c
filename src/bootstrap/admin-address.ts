import { isDeepStrictEqual } from 'node:util';
import YAML, { isMap, type Document } from 'yaml';
import { describeTcpAdmin, metadataAdminPort } from './admin-metadata.js';
import { spliceTcpAdmin } from './admin-splice.js';

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
  /**
   * The admin port kuma-cp chose for this Dataplane (its node metadata, else its admin address):
   * the Dataplane's `networking.admin.port` or kuma-cp's default. kuma-cp's health checks and its
   * admin client use it whatever the bootstrap says.
   */
  readonly controlPlanePort?: number;
  /** kuma-cp health-checks this Envoy (HDS): the bootstrap has an `hdsConfig`. */
  readonly healthChecked: boolean;
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
 * none when no port was asked for) gets 127.0.0.1:9901. Where the agent changes the admin, the
 * node metadata kuma-cp reads the admin from is changed to match; the rest of the document is
 * kept as sent.
 */
export function applyAdminAddress(yaml: string, adminPort: number | undefined, parsed?: Document): AdminRewrite {
  const sent = parsed ?? YAML.parseDocument(yaml);
  const current = readAdmin(sent);
  const controlPlanePort = metadataAdminPort(sent) ?? (current?.kind === 'tcp' ? current.port : undefined);
  const facts = { ...(controlPlanePort !== undefined && { controlPlanePort }), healthChecked: sent.has('hdsConfig') || sent.has('hds_config') };
  const wanted: AdminAddress | undefined =
    adminPort !== undefined
      ? { kind: 'tcp', host: LOOPBACK, port: adminPort }
      : current ?? { kind: 'tcp', host: LOOPBACK, port: DEFAULT_ADMIN_PORT };
  if (current && formatAdminAddress(current) === formatAdminAddress(wanted)) {
    return { yaml, admin: current, ...facts };
  }
  // Changed below: a parsed document that is kept (the last good bootstrap) is cloned first; not
  // above, where an answer that already names the wanted address is returned as it came.
  const doc = parsed ? parsed.clone() : sent;
  const snakeCase = doc.has('static_resources') || doc.has('dynamic_resources');
  const port = (wanted as { port: number }).port;
  const spliced = spliceTcpAdmin(yaml, doc, port, snakeCase);
  const address = snakeCase
    ? { socket_address: { address: LOOPBACK, port_value: port } }
    : { socketAddress: { address: LOOPBACK, portValue: port } };
  doc.setIn(['admin', 'address'], doc.createNode(address));
  describeTcpAdmin(doc, { host: LOOPBACK, port });
  // The splice keeps every other byte; the printed document is the fallback, and the judge of
  // what the splice must mean.
  const text = spliced !== undefined && isDeepStrictEqual(YAML.parse(spliced), doc.toJS()) ? spliced : printed(doc, yaml);
  return { yaml: text, admin: wanted, replaced: current ?? 'none', ...facts };
}

function printed(doc: Document, original: string): string {
  // Keep the CP's layout: block sequences flush with their key when it wrote them so.
  const indentSeq = !/^( *)[^\s#-][^\n]*:\n\1- /m.test(original);
  const text = doc.toString({ lineWidth: 0, indentSeq });
  return original.endsWith('\n') ? text : text.replace(/\n$/, '');
}

/**
 * When `--admin-port` moved Envoy's admin away from the port kuma-cp chose for the Dataplane, what
 * still points at kuma-cp's port: the node metadata follows Envoy, but kuma-cp's health checks
 * (HDS) and its admin client (`kumactl inspect`, the GUI) read the port from the Dataplane
 * resource. Undefined when they agree.
 */
export function adminPortDisagreement(rewrite: AdminRewrite, adminPort: number | undefined): string | undefined {
  const chosen = rewrite.controlPlanePort;
  if (adminPort === undefined || chosen === undefined || chosen === adminPort) return undefined;
  const readers = rewrite.healthChecked
    ? 'its health checks (HDS: every inbound would be reported unhealthy) and its admin client (kumactl inspect, the GUI)'
    : 'its admin client (kumactl inspect, the GUI)';
  const pipe = rewrite.replaced !== undefined && rewrite.replaced !== 'none' && rewrite.replaced.kind === 'pipe';
  return (
    `kuma-cp chose admin port ${chosen} for this Dataplane (its networking.admin.port, or kuma-cp's default) and ${readers} still use it, ` +
    `while --admin-port puts Envoy's admin on 127.0.0.1:${adminPort}: set networking.admin.port: ${adminPort} in the Dataplane resource` +
    (pipe ? ", or drop --admin-port (kuma-cp put the admin on a unix socket in the work dir, which cannot clash with another dataplane's)" : ', or drop --admin-port')
  );
}

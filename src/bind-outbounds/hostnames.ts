import type { NameRecord } from '../dns/records.js';

// With --bind-outbounds, kuma-cp gives Envoy one listener per mesh service and port, bound on the
// service's VIP and named by the service's KRI (pkg/plugins/policies/meshtcproute/plugin/v1alpha1/
// listeners.go): kri_<type>_<mesh>_<zone>_<namespace>_<name>_<section>. kuma-cp's default
// HostnameGenerators (pkg/defaults/hostname_generator.go) name the same services from the same
// parts, so the names can be rebuilt here:
//
//   MeshService, this zone (Universal)          {{ .DisplayName }}.svc.mesh.local
//   MeshService of another Universal zone       {{ .DisplayName }}.svc.{{ .Zone }}.mesh.local
//   MeshService of a Kubernetes zone            {{ .DisplayName }}.{{ .Namespace }}.svc.{{ .Zone }}.mesh.local
//   MeshExternalService                         {{ .DisplayName }}.extsvc.mesh.local
//   MeshMultiZoneService                        {{ .DisplayName }}.mzsvc.mesh.local
//
// What cannot be rebuilt: the headless Kubernetes form (it needs the pod-name label, which no
// listener carries), names of HostnameGenerators an operator wrote, and listeners that are not
// named by KRI (kuma-cp 2.x without unified resource naming names them outbound:<ip>:<port>).

/** A listener as Envoy's admin lists it (`/listeners?format=json`). */
export interface EnvoyListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

interface Kri {
  readonly type: string;
  readonly zone: string;
  readonly namespace: string;
  readonly name: string;
}

/** Kuma's kri.FromString: seven or more `_`-separated parts, the section being the rest. */
function parseKri(text: string): Kri | undefined {
  const parts = text.split('_');
  if (parts.length < 7 || parts[0] !== 'kri') return undefined;
  return { type: parts[1]!, zone: parts[3]!, namespace: parts[4]!, name: parts[5]! };
}

// kuma-cp keeps only names that are RFC 1123 subdomains (IsDNS1123Subdomain).
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const isDnsName = (name: string) => name.length <= 253 && name.split('.').every((label) => LABEL.test(label));

/**
 * The hostname kuma-cp's default generators give the service a listener serves, or undefined.
 * `localZone` is this dataplane's zone (its inbound's `kuma.io/zone` tag); unknown, every
 * MeshService is taken for a local one.
 */
export function hostnameOf(listenerName: string, localZone: string | undefined): string | undefined {
  const kri = parseKri(listenerName);
  if (!kri || kri.name === '') return undefined;
  let hostname: string | undefined;
  switch (kri.type) {
    case 'extsvc':
      hostname = `${kri.name}.extsvc.mesh.local`;
      break;
    case 'mzsvc':
      hostname = `${kri.name}.mzsvc.mesh.local`;
      break;
    case 'msvc': {
      // The generators' .Zone falls back to the local zone when the service carries none.
      const zone = kri.zone || localZone;
      const local = kri.zone === '' || localZone === undefined || kri.zone === localZone;
      if (kri.namespace !== '') hostname = zone ? `${kri.name}.${kri.namespace}.svc.${zone}.mesh.local` : undefined;
      else hostname = local ? `${kri.name}.svc.mesh.local` : `${kri.name}.svc.${zone}.mesh.local`;
      break;
    }
  }
  return hostname !== undefined && isDnsName(hostname) ? hostname : undefined;
}

/**
 * Every mesh name the listeners serve, with its address: one record per name, in name order.
 * A name two services would share goes to the first listener in name order; kuma-cp gives such
 * a name to neither reliably, so this only keeps the answer stable.
 */
export function outboundNames(listeners: readonly EnvoyListener[], localZone: string | undefined): NameRecord[] {
  const byName = new Map<string, string>();
  for (const listener of [...listeners].sort((a, b) => a.name.localeCompare(b.name))) {
    if (listener.address === '0.0.0.0' || listener.address === '::') continue;
    const hostname = hostnameOf(listener.name, localZone);
    if (hostname !== undefined && !byName.has(hostname)) byName.set(hostname, listener.address);
  }
  return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, ip]) => ({ name, ips: [ip] }));
}

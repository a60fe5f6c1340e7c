import type { EnvoyAdmin } from '../envoy/admin-client.js';
import type { EnvoyListener } from './hostnames.js';

// What the bind-outbounds names are made of, read from Envoy's admin API. A mesh of thousands of
// services lists a few hundred bytes per listener; these bounds leave room for far more.
const MAX_LISTENERS_BYTES = 16 * 1024 * 1024;
const MAX_SMALL_BYTES = 1024 * 1024;

/**
 * Envoy's count of listener updates (LDS) it took: it moves whenever the listeners may have
 * changed, and reading it costs a few bytes, so the listeners are read only when it moved.
 */
export async function listenerUpdates(admin: EnvoyAdmin): Promise<number> {
  const body = await admin.get(`/stats?format=json&filter=${encodeURIComponent('^listener_manager\\.lds\\.update_success$')}`, MAX_SMALL_BYTES);
  const stats = (JSON.parse(body) as { stats?: Array<{ name?: string; value?: number }> }).stats ?? [];
  return stats.find((stat) => stat.name === 'listener_manager.lds.update_success')?.value ?? 0;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
// Envoy's admin writes proto field names (snake_case); accept the JSON names as well.
const field = (value: unknown, snake: string, camel: string): unknown => (isObject(value) ? (value[snake] ?? value[camel]) : undefined);

/** `/listeners?format=json`: every listener's name and the address it is bound to. */
export async function readListeners(admin: EnvoyAdmin): Promise<EnvoyListener[]> {
  const body = JSON.parse(await admin.get('/listeners?format=json', MAX_LISTENERS_BYTES)) as unknown;
  const statuses = field(body, 'listener_statuses', 'listenerStatuses');
  if (!Array.isArray(statuses)) return [];
  return statuses.flatMap((status: unknown) => {
    const socket = field(field(status, 'local_address', 'localAddress'), 'socket_address', 'socketAddress');
    const name = field(status, 'name', 'name');
    const address = field(socket, 'address', 'address');
    const port = Number(field(socket, 'port_value', 'portValue'));
    return typeof name === 'string' && typeof address === 'string' && Number.isInteger(port) ? [{ name, address, port }] : [];
  });
}

/**
 * This dataplane's zone: kuma-cp tags its inbound listeners with `kuma.io/zone` (listener
 * metadata `io.kuma.tags`). Only the inbound listeners are asked for (both naming schemes).
 */
export async function localZone(admin: EnvoyAdmin): Promise<string | undefined> {
  const regex = encodeURIComponent('^(self_inbound_|inbound:).*');
  const dump = JSON.parse(await admin.get(`/config_dump?resource=dynamic_listeners&name_regex=${regex}`, MAX_LISTENERS_BYTES)) as unknown;
  const configs = field(dump, 'configs', 'configs');
  for (const entry of Array.isArray(configs) ? configs : [configs]) {
    // With `resource=`, each entry is one dynamic listener; without, a ListenersConfigDump.
    const listeners = field(entry, 'dynamic_listeners', 'dynamicListeners');
    for (const dynamic of Array.isArray(listeners) ? listeners : [entry]) {
      const listener = field(field(dynamic, 'active_state', 'activeState'), 'listener', 'listener');
      if (field(listener, 'traffic_direction', 'trafficDirection') !== 'INBOUND') continue;
      const tags = field(field(field(listener, 'metadata', 'metadata'), 'filter_metadata', 'filterMetadata'), 'io.kuma.tags', 'io.kuma.tags');
      const zone = field(tags, 'kuma.io/zone', 'kuma.io/zone');
      if (typeof zone === 'string' && zone !== '') return zone;
    }
  }
  return undefined;
}

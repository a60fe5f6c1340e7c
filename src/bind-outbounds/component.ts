import type { AdminAddress } from '../bootstrap/admin-address.js';
import { formatAdminAddress } from '../bootstrap/admin-address.js';
import type { NameRecord } from '../dns/records.js';
import { EnvoyAdmin } from '../envoy/admin-client.js';
import type { Clock } from '../runtime/clock.js';
import type { Component, ComponentContext, Running } from '../runtime/component.js';
import { listenerUpdates, localZone, readListeners } from './envoy-listeners.js';
import { outboundNames } from './hostnames.js';
import { HostsFileBlock, HostsFileError } from './hosts-file.js';
import { repeat } from '../runtime/repeat.js';

/** kuma-cp's feature string: bind every outbound on its VIP, with no iptables. */
export const FEATURE_BIND_OUTBOUNDS = 'feature-bind-outbounds';
const POLL_MS = 1000;

export interface BindOutboundsOptions {
  /** The admin address of the Envoy that runs (as the launcher enforced it), once there is one. */
  readonly admin: () => AdminAddress | undefined;
  /** Where the names go: the DNS proxy, when it runs. */
  readonly publish?: (records: readonly NameRecord[]) => void;
  /** --hosts-file, and this dataplane's block in it (mesh/name). */
  readonly hostsFile?: { readonly path: string; readonly id: string };
  readonly clock: Clock;
  readonly pollMs?: number;
}

/**
 * `--bind-outbounds`: kuma-cp gives Envoy a listener per mesh service on its VIP and sends no
 * `/dns`. This component reads Envoy's listeners whenever they change, names them as kuma-cp's
 * hostname generators would, and hands the names to the DNS proxy and the hosts file.
 */
export function bindOutboundsComponent(options: BindOutboundsOptions): Component {
  const { clock } = options;
  const pollMs = options.pollMs ?? POLL_MS;
  return {
    name: 'bind-outbounds',
    features: [FEATURE_BIND_OUTBOUNDS],
    async start({ logger }: ComponentContext): Promise<Running> {
      const hosts = options.hostsFile && new HostsFileBlock(options.hostsFile.path, options.hostsFile.id);
      let admin: EnvoyAdmin | undefined;
      let adminKey: string | undefined;
      let seenUpdates: number | undefined;
      let names: readonly NameRecord[] = [];
      let hostsWarned = false;

      const writeHosts = async () => {
        if (!hosts) return;
        try {
          await hosts.set(names);
          if (hostsWarned) logger.info({ hostsFile: hosts.file }, 'the hosts file holds the mesh names again');
          hostsWarned = false;
        } catch (error) {
          if (!(error instanceof HostsFileError)) throw error;
          // One warning, not one a second: the file stays as it is until it can be written.
          if (!hostsWarned) logger.warn({ hostsFile: hosts.file, reason: error.message }, 'cannot keep the mesh names in the hosts file');
          hostsWarned = true;
        }
      };

      const poll = async () => {
        const current = options.admin();
        const key = current && formatAdminAddress(current);
        if (key !== adminKey) {
          // A new Envoy (or admin address): its listeners are read afresh.
          await admin?.close();
          admin = current && new EnvoyAdmin(current);
          adminKey = key;
          seenUpdates = undefined;
        }
        if (admin) {
          try {
            const updates = await listenerUpdates(admin);
            if (updates !== seenUpdates && updates > 0) {
              const [listeners, zone] = await Promise.all([readListeners(admin), localZone(admin).catch(() => undefined)]);
              seenUpdates = updates;
              const next = outboundNames(listeners, zone);
              if (JSON.stringify(next) !== JSON.stringify(names)) {
                names = next;
                logger.info({ names: Object.fromEntries(names.map((r) => [r.name, r.ips[0]])), zone: zone ?? null }, 'mesh names of the bound outbounds');
                options.publish?.(names);
                await writeHosts();
              }
            }
          } catch (error) {
            // Envoy restarting or not up yet: the next tick asks again.
            logger.debug({ err: (error as Error).message }, 'cannot read Envoy listeners yet');
          }
        }
        if (hosts?.changedSinceWritten()) await writeHosts();
      };

      // A block a killed run of this dataplane left behind names what may no longer be there.
      await writeHosts();
      const polling = repeat(clock, pollMs, () => poll().catch((error: Error) => logger.warn({ err: error.message }, 'bind-outbounds names not updated')));
      return {
        stop: async () => {
          await polling.stop();
          await admin?.close();
          names = [];
          await writeHosts();
        },
      };
    },
  };
}

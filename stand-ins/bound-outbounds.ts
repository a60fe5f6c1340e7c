// The fake Envoy's listeners under --bind-outbounds (CONTRACTS.md §3): kuma-cp gives Envoy one
// listener per mesh service and port, named by the service's KRI and bound on its VIP, plus the
// dataplane's inbound, whose metadata carries the dataplane's tags (kuma.io/zone among them).
// Each outbound really is bound, as Envoy binds it, and answers HTTP with its listener's name.
import http from 'node:http';
import { readScenario, type Scenario } from './scenario.js';

export interface ListenerStatus {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

const INBOUND_PORT = 13000;

export class BoundOutbounds {
  /** LDS updates the scenario's changes stand for. */
  updates = 0;
  private signature = '';
  private listeners: ListenerStatus[] = [];
  private readonly servers = new Map<string, http.Server>();
  private zone: string | undefined;

  constructor(
    private readonly scenarioPath: string | undefined,
    private readonly log: (message: string) => void,
  ) {}

  /** Follows the scenario: a change is one more LDS update, with listeners bound and unbound. */
  sync(): void {
    const scenario: Scenario['bindOutbounds'] = readScenario(this.scenarioPath).bindOutbounds;
    const signature = JSON.stringify(scenario ?? null);
    if (signature === this.signature) return;
    this.signature = signature;
    if (!scenario) return;
    this.updates += 1;
    this.zone = scenario.zone;
    this.listeners = scenario.services.flatMap((service) =>
      service.ports.map((port) => ({
        name: `kri_${service.kind}_${scenario.mesh}_${service.zone ?? ''}_${service.namespace ?? ''}_${service.name}_${port.name ?? port.port}`,
        address: service.vip,
        port: port.port,
      })),
    );
    const wanted = new Set(this.listeners.map((l) => `${l.address}:${l.port}`));
    for (const [key, server] of this.servers) {
      if (!wanted.has(key)) {
        server.close();
        this.servers.delete(key);
      }
    }
    for (const listener of this.listeners) {
      const key = `${listener.address}:${listener.port}`;
      if (this.servers.has(key)) continue;
      const server = http.createServer((_req, res) => res.end(`${listener.name}\n`));
      server.on('error', (error) => this.log(`listener ${listener.name}: cannot bind ${key}: ${error.message}`));
      server.listen({ host: listener.address, port: listener.port, exclusive: true });
      this.servers.set(key, server);
    }
  }

  private inbound(): ListenerStatus[] {
    return this.signature === '' || this.signature === 'null' ? [] : [{ name: `self_inbound_dp_${INBOUND_PORT}`, address: '127.0.0.1', port: INBOUND_PORT }];
  }

  /** `/listeners?format=json` entries (snake_case, as Envoy's admin writes proto field names). */
  statuses(): Array<{ name: string; local_address: { socket_address: { address: string; port_value: number } } }> {
    return [...this.inbound(), ...this.listeners].map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } }));
  }

  /** `/config_dump?resource=dynamic_listeners[&name_regex=]` entries. */
  dynamicListeners(nameRegex: string | null): object[] {
    const regex = nameRegex === null ? undefined : new RegExp(nameRegex);
    const inbound = new Set(this.inbound().map((l) => l.name));
    return [...this.inbound(), ...this.listeners]
      .filter((l) => !regex || regex.test(l.name))
      .map((l) => {
        const tags = inbound.has(l.name) ? { 'kuma.io/service': 'app', ...(this.zone && { 'kuma.io/zone': this.zone }) } : { 'kuma.io/unified-name': l.name };
        return {
          '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener',
          name: l.name,
          active_state: {
            version_info: String(this.updates),
            listener: {
              '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
              name: l.name,
              address: { socket_address: { address: l.address, port_value: l.port } },
              metadata: { filter_metadata: { 'io.kuma.tags': tags } },
              traffic_direction: inbound.has(l.name) ? 'INBOUND' : 'OUTBOUND',
            },
          },
        };
      });
  }
}

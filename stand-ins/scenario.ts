// What kuma-cp would have configured the fake Envoy with, from the JSON file FAKE_ENVOY_SCENARIO
// names. Read again on every use, so that a test changes it by rewriting the file (atomically:
// write a temp file, then rename).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** A mesh service kuma-cp gives a bind-outbounds dataplane: one listener per port, on its VIP. */
export interface BoundService {
  /** KRI short type: MeshService, MeshExternalService, MeshMultiZoneService. */
  readonly kind: 'msvc' | 'extsvc' | 'mzsvc';
  /** Its display name. */
  readonly name: string;
  /** The zone it comes from (its kuma.io/zone label); empty for none. */
  readonly zone?: string;
  /** Its Kubernetes namespace, for services of a Kubernetes zone. */
  readonly namespace?: string;
  /** Its VIP, from kuma-cp's IPAM (a 127.x range for bind-outbounds). */
  readonly vip: string;
  /** Ports, each named by its name or, without one, its number (the KRI's section). */
  readonly ports: readonly { readonly port: number; readonly name?: string }[];
}

export interface Scenario {
  /**
   * A MeshAccessLog TCP backend: kuma-cp's listeners log through Envoy's file access logger into
   * `path` (the agent's named pipe); the fake writes `lines` there once its listeners have come.
   */
  readonly accessLog?: { readonly path: string; readonly lines: readonly string[] };
  /** --bind-outbounds: the mesh, this dataplane's zone and the services kuma-cp gives listeners to. */
  readonly bindOutbounds?: {
    readonly mesh: string;
    readonly zone?: string;
    readonly services: readonly BoundService[];
  };
  /**
   * Routes of the dynamic configuration socket, `<workdir>/kuma-mesh-metric-config.sock`: path →
   * the JSON kuma-cp sends there (`/meshmetric`, `/dns`, any). Without it, no socket.
   */
  readonly dynamicConfig?: Readonly<Record<string, unknown>>;
  /** About this many more series on /stats?format=prometheus (split clusters of a large mesh). */
  readonly stats?: {
    readonly series?: number;
    /** Every one of those series changes between two answers (counters grow), as on a busy Envoy. */
    readonly churn?: boolean;
  };
}

export function readScenario(path: string | undefined): Scenario {
  if (path === undefined) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Scenario;
}

export function writeScenario(path: string, scenario: Scenario): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(scenario));
  renameSync(`${path}.tmp`, path);
}

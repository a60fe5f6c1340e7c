// What kuma-cp would have configured the fake Envoy with, from the JSON file FAKE_ENVOY_SCENARIO
// names. Read again on every use, so that a test changes it by rewriting the file (atomically:
// write a temp file, then rename).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface Scenario {
  /**
   * Routes of the dynamic configuration socket, `<workdir>/kuma-mesh-metric-config.sock`: path →
   * the JSON kuma-cp sends there (`/meshmetric`, `/dns`, any). Without it, no socket.
   */
  readonly dynamicConfig?: Readonly<Record<string, unknown>>;
  /** About this many more series on /stats?format=prometheus (split clusters of a large mesh). */
  readonly stats?: { readonly series?: number };
}

export function readScenario(path: string | undefined): Scenario {
  if (path === undefined) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Scenario;
}

export function writeScenario(path: string, scenario: Scenario): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(scenario));
  renameSync(`${path}.tmp`, path);
}

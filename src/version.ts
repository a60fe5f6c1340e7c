import { readFileSync } from 'node:fs';

/**
 * The agent's name where Go kuma-dp prints "Kuma". It is not Kuma's build, so it does not claim
 * Kuma's name or version numbers.
 */
export const PRODUCT = 'kuma-dp-node';

/** What `kuma-dp version --detailed` prints and what the bootstrap request reports to kuma-cp. */
export interface AgentBuild {
  readonly product: string;
  /** The package's version, e.g. 0.1.0. */
  readonly version: string;
  readonly gitTag: string;
  readonly gitCommit: string;
  readonly buildDate: string;
  /**
   * `version.kumaDp.version` of the bootstrap request. kuma-cp shows it in its insights and
   * checks it against its own version (pkg/version/compatibility.go: at most two minor versions
   * apart), flagging a semantic version outside that window as incompatible, while a version it
   * cannot parse counts as a development build and passes. The package version alone (0.1.0)
   * would be flagged against every kuma-cp although the protocol is the one kuma-cp speaks, and a
   * Kuma version number would be a lie; product/version is neither.
   */
  readonly reportedVersion: string;
}

/** Stamped in by the bundler (scripts/bundle.ts); absent when running the tsc output. */
declare const __KUMA_DP_BUILD__: { readonly gitCommit: string; readonly buildDate: string } | undefined;

export function agentBuild(): AgentBuild {
  const manifest = new URL('../../package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const stamp = typeof __KUMA_DP_BUILD__ === 'undefined' ? undefined : __KUMA_DP_BUILD__;
  return {
    product: PRODUCT,
    version,
    gitTag: `v${version}`,
    // Go kuma-dp says "unknown" for what its build did not stamp.
    gitCommit: stamp?.gitCommit ?? 'unknown',
    buildDate: stamp?.buildDate ?? 'unknown',
    reportedVersion: `${PRODUCT}/${version}`,
  };
}

/** `kuma-dp version`, in Go kuma-dp's layout (`Kuma: 2.14.3`; `--detailed`: one field a line). */
export function formatVersion(build: AgentBuild, detailed: boolean): string {
  if (!detailed) return `${build.product}: ${build.version}\n`;
  return [
    `Product:       ${build.product}`,
    `Version:       ${build.version}`,
    `Git Tag:       ${build.gitTag}`,
    `Git Commit:    ${build.gitCommit}`,
    `Build Date:    ${build.buildDate}`,
  ].join('\n') + '\n';
}

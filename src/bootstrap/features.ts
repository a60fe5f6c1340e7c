/**
 * The bootstrap request's feature strings that settings ask for, rather than a component: each
 * only changes what kuma-cp generates for Envoy, so the agent needs no part of its own to serve
 * it. Go kuma-dp sends the same ones from the same settings (app/kuma-dp/cmd/run.go).
 */
export interface FeatureSettings {
  readonly strictInboundPorts: boolean;
  readonly reusePort: boolean;
  /** kuma-cp 2.x: delta xDS instead of state-of-the-world (3.x always uses delta). */
  readonly deltaXds: boolean;
  /** kuma-cp 2.x: KRI and system_ names for Envoy resources and stats (3.x always uses them). */
  readonly unifiedResourceNaming: boolean;
}

export function featuresOfSettings(settings: FeatureSettings): string[] {
  return [
    ...(settings.deltaXds ? ['feature-delta-grpc'] : []),
    ...(settings.unifiedResourceNaming ? ['feature-unified-resource-naming'] : []),
    ...(settings.strictInboundPorts ? ['feature-strict-inbound-ports'] : []),
    ...(settings.reusePort ? ['feature-reuse-port'] : []),
  ];
}

import YAML from 'yaml';

/** An application whose metrics the metrics socket merges with Envoy's (`metrics.aggregate`). */
export interface AggregateApp {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly path: string;
}

/** What the modern DP server sends next to the bootstrap; kept for metrics and DNS components. */
export interface KumaSidecarConfiguration {
  readonly networking?: { readonly address?: string };
  readonly metrics?: { readonly aggregate?: readonly AggregateApp[] };
}

export interface BootstrapResponse {
  /** The Envoy bootstrap, as YAML text exactly as the CP sent it. */
  readonly yaml: string;
  readonly sidecar?: KumaSidecarConfiguration;
}

export class InvalidBootstrapError extends Error {
  constructor(reason: string) {
    super(`the control plane's answer is not a valid Envoy bootstrap: ${reason}`);
    this.name = 'InvalidBootstrapError';
  }
}

const BOOTSTRAP_KEYS = ['node', 'staticResources', 'static_resources', 'dynamicResources', 'dynamic_resources', 'admin'];

/** Checks that text is a YAML mapping that looks like an Envoy bootstrap. */
function parseBootstrapYaml(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    // Warnings (an odd tag) are the control plane's business, and would break the one-JSON-line-per-event log.
    value = YAML.parse(text, { logLevel: 'error' });
  } catch (error) {
    throw new InvalidBootstrapError(`unparsable YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidBootstrapError('not a YAML mapping');
  }
  if (!BOOTSTRAP_KEYS.some((key) => key in value)) {
    throw new InvalidBootstrapError(`none of ${BOOTSTRAP_KEYS.filter((k) => !k.includes('_')).join(', ')} in it`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads either generation's answer: the modern JSON envelope (base64 YAML in `bootstrap`) or the
 * YAML body of 0.x and of modern CPs asked without `accept: application/json`.
 */
export function parseBootstrapResponse(contentType: string | undefined, body: string): BootstrapResponse {
  if (!contentType?.toLowerCase().startsWith('application/json')) {
    parseBootstrapYaml(body);
    return { yaml: body };
  }
  let envelope: { bootstrap?: unknown; kumaSidecarConfiguration?: KumaSidecarConfiguration };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    throw new InvalidBootstrapError('unparsable JSON');
  }
  if (typeof envelope?.bootstrap !== 'string' || envelope.bootstrap === '') {
    throw new InvalidBootstrapError('the JSON has no "bootstrap" field');
  }
  const yaml = Buffer.from(envelope.bootstrap, 'base64').toString('utf8');
  parseBootstrapYaml(yaml);
  return { yaml, sidecar: envelope.kumaSidecarConfiguration };
}

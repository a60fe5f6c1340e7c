import YAML, { isMap, type Document } from 'yaml';

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
  /** The same, parsed (once: the admin address is read and set on it). */
  readonly document: Document;
  readonly sidecar?: KumaSidecarConfiguration;
}

export class InvalidBootstrapError extends Error {
  constructor(reason: string) {
    super(`the control plane's answer is not a valid Envoy bootstrap: ${reason}`);
    this.name = 'InvalidBootstrapError';
  }
}

const BOOTSTRAP_KEYS = ['node', 'staticResources', 'static_resources', 'dynamicResources', 'dynamic_resources', 'admin'];

/** Parses text that must be a YAML mapping that looks like an Envoy bootstrap. */
function parseBootstrapYaml(text: string): Document {
  // Warnings (an odd tag) are the control plane's business, and would break the one-JSON-line-per-event log.
  const document = YAML.parseDocument(text, { logLevel: 'error' });
  const [error] = document.errors;
  if (error) throw new InvalidBootstrapError(`unparsable YAML (${error.message.split('\n')[0]})`);
  if (!isMap(document.contents)) throw new InvalidBootstrapError('not a YAML mapping');
  if (!BOOTSTRAP_KEYS.some((key) => document.has(key))) {
    throw new InvalidBootstrapError(`none of ${BOOTSTRAP_KEYS.filter((k) => !k.includes('_')).join(', ')} in it`);
  }
  return document;
}

/**
 * Reads either generation's answer: the modern JSON envelope (base64 YAML in `bootstrap`) or the
 * YAML body of 0.x and of modern CPs asked without `accept: application/json`.
 */
export function parseBootstrapResponse(contentType: string | undefined, body: string): BootstrapResponse {
  if (!contentType?.toLowerCase().startsWith('application/json')) {
    return { yaml: body, document: parseBootstrapYaml(body) };
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
  return { yaml, document: parseBootstrapYaml(yaml), sidecar: envelope.kumaSidecarConfiguration };
}

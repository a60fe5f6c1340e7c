import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { errorCode } from '../http/client.js';
import { SYSTEM_CA_BUNDLES, systemCaBundle } from '../system/ca-bundle.js';

/** How the agent checks the control plane's certificate. */
export interface ControlPlaneTls {
  /** PEM of the CA that vouches for the CP; undefined means the system's CAs. */
  readonly caCert?: string;
  readonly skipVerify: boolean;
}

/**
 * The https agent for an https control plane: TLS 1.2 or newer, verified against the given CA or
 * the system's bundle. Node's own default would be its bundled Mozilla list, which ignores CAs an
 * operator added to the host.
 */
export async function controlPlaneAgent(url: URL, tls: ControlPlaneTls, bundles = SYSTEM_CA_BUNDLES): Promise<Agent | undefined> {
  if (url.protocol !== 'https:') return undefined;
  const system = systemCaBundle(bundles);
  const ca = tls.caCert ?? (system === undefined ? undefined : readFileSync(system, 'utf8'));
  // Loaded for an https control plane only, as the client loads node:https (src/http/client.ts).
  const https = await import('node:https');
  return new https.Agent({ ca, rejectUnauthorized: !tls.skipVerify, minVersion: 'TLSv1.2' });
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);
const OLD_TLS = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE']);

/**
 * Tells TLS failures no retry can heal from passing network trouble, with what to fix: waiting
 * five minutes for a certificate to become trusted helps nobody.
 */
export function tlsFailure(url: URL, tls: ControlPlaneTls): (error: Error) => string | undefined {
  const trust = tls.caCert === undefined ? "the system's CAs" : 'the CA from --ca-cert-file / KUMA_CONTROL_PLANE_CA_CERT';
  return (error) => {
    const code = errorCode(error);
    const where = `${url.origin}: `;
    if (UNTRUSTED.has(code)) {
      return (
        `${where}the control plane's certificate is not signed by ${trust} (${code}). ` +
        'Pass the CA that signed it with --ca-cert-file (or KUMA_CONTROL_PLANE_CA_CERT_FILE)'
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      // Node's own reason leaves out DNS names when the host is an IP: list what the certificate does name.
      const { cert } = error as Error & { cert?: { subjectaltname?: string; subject?: { CN?: string } } };
      const names = cert?.subjectaltname ?? (cert?.subject?.CN ? `CN=${cert.subject.CN}` : 'no names');
      return (
        `${where}the control plane's certificate is not for ${url.hostname} (it names ${names}). ` +
        'Use a --cp-address whose host the certificate names, or reissue the certificate with that host in its subject alternative names'
      );
    }
    if (OUT_OF_DATE.has(code)) {
      return `${where}the control plane's certificate is outside its validity period (${code}): renew it, or fix this host's clock`;
    }
    if (NOT_TLS.has(code)) {
      return `${where}does not answer with TLS (${code}): use http:// for a plain-text control plane, or point --cp-address at its TLS port`;
    }
    if (OLD_TLS.has(code)) {
      return `${where}the control plane offers no TLS version kuma-dp accepts (${code}): it must allow TLS 1.2 or newer`;
    }
    return undefined;
  };
}

import { existsSync } from 'node:fs';

// Where Linux distributions keep their CA bundle: the list Go's crypto/x509 tries, which Go
// kuma-dp also walks to tell kuma-cp the system CA (app/kuma-dp/pkg/dataplane/certificate).
export const SYSTEM_CA_BUNDLES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];

/** The first CA bundle of the list that exists, or undefined when the host has none of them. */
export function systemCaBundle(candidates: readonly string[] = SYSTEM_CA_BUNDLES): string | undefined {
  return candidates.find((file) => existsSync(file));
}

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../config/errors.js';

/** The CA from `--ca-cert-file` (which wins) or inline PEM, checked to be a certificate. */
export function readCaCert(file: string | undefined, inline: string | undefined): string | undefined {
  const source = file === undefined ? 'KUMA_CONTROL_PLANE_CA_CERT' : `--ca-cert-file ${file}`;
  let pem = inline;
  if (file !== undefined) {
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UserError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (pem === undefined) return undefined;
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no BEGIN CERTIFICATE block');
    new X509Certificate(pem);
  } catch (error) {
    throw new UserError(`invalid ${source}: not a PEM certificate (${(error as Error).message})`);
  }
  return pem;
}

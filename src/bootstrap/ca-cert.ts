import { X509Certificate } from 'node:crypto';
import { UserError } from '../errors.js';

/** Checks that the CA the operator gave is a PEM certificate; `source` names where it came from. */
export function checkCaCert(pem: string, source: string): string {
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no BEGIN CERTIFICATE block');
    new X509Certificate(pem);
  } catch (error) {
    throw new UserError(`invalid ${source}: not a PEM certificate (${(error as Error).message})`);
  }
  return pem;
}

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './agent.js';

const OPENSSL = '/usr/bin/openssl';

export interface Pki {
  caCert: string;
  caFile: string;
  otherCaFile: string;
  /** Signed by the CA, for 127.0.0.1 and localhost. */
  good: { key: string; cert: string };
  /** Signed by the CA, for another host only. */
  wrongName: { key: string; cert: string };
}

/** A test CA, a second CA nobody trusts, and server certificates; EC keys, as they are quick to make. */
export function makePki(): Pki {
  const dir = tempDir('kuma-dp-pki-');
  const file = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync(OPENSSL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', ...key, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`), '-days', '2', '-subj', `/CN=${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  const server = (name: string, san: string) => {
    ssl('req', ...key, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', '/CN=kuma-cp');
    writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    ssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.crt`), '-days', '2', '-extfile', file(`${name}.ext`));
    return { key: readFileSync(file(`${name}.key`), 'utf8'), cert: readFileSync(file(`${name}.crt`), 'utf8') };
  };
  return {
    caCert: readFileSync(file('ca.crt'), 'utf8'),
    caFile: file('ca.crt'),
    otherCaFile: file('other-ca.crt'),
    good: server('good', 'IP:127.0.0.1,DNS:localhost'),
    wrongName: server('wrong-name', 'DNS:other.example'),
  };
}

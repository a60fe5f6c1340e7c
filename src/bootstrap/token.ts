import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/** Where the dataplane token comes from. The token itself is a secret: no message below quotes it. */
export type TokenSetting = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'inline'; readonly value: string };

/** The token's fields of the bootstrap request. */
export interface TokenFields {
  readonly dataplaneToken?: string;
  readonly dataplaneTokenPath?: string;
}

export function tokenSetting(inline: string | undefined, file: string | undefined): TokenSetting | undefined {
  if (inline !== undefined && file !== undefined) {
    throw new UserError('pass either --dataplane-token or --dataplane-token-file, not both');
  }
  if (file !== undefined) return { kind: 'file', path: path.resolve(file) };
  return inline === undefined ? undefined : { kind: 'inline', value: inline };
}

/**
 * The token fields for one bootstrap request. A file is read on every call, so that a token
 * rotated on disk is what the next (re)start presents; call it once up front to fail early.
 */
export function tokenSource(setting: TokenSetting | undefined): () => TokenFields {
  if (setting === undefined) return () => ({});
  if (setting.kind === 'inline') return () => ({ dataplaneToken: setting.value });
  return () => ({ dataplaneToken: readToken(setting.path), dataplaneTokenPath: setting.path });
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`cannot read the dataplane token file ${file} (${code}): check --dataplane-token-file and its permissions`);
  }
  const token = text.trim();
  if (token === '') throw new UserError(`the dataplane token file ${file} is empty`);
  return token;
}

import { UserError } from '../errors.js';
import { FileRefused, readRegularFile } from '../system/regular-file.js';

/** A dataplane token is a JWT of a few KiB. */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;
// Printable ASCII without spaces: what a JWT (or any token that fits a header) is made of.
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

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
  // As given: kuma-cp may hand the path to Envoy (reloadable tokens), which shares our cwd.
  if (file !== undefined) return { kind: 'file', path: file };
  if (inline === undefined) return undefined;
  if (!TOKEN_TEXT.test(inline.trim())) {
    throw new UserError('invalid --dataplane-token (or KUMA_DATAPLANE_RUNTIME_TOKEN): it holds a line break, a space or a control character');
  }
  return { kind: 'inline', value: inline.trim() };
}

/**
 * The token fields for one bootstrap request. A file is read on every call, so that a token
 * rotated on disk is what the next (re)start presents; call it once up front to fail early.
 */
export function tokenSource(setting: TokenSetting | undefined): () => Promise<TokenFields> {
  if (setting === undefined) return async () => ({});
  if (setting.kind === 'inline') return async () => ({ dataplaneToken: setting.value });
  return async () => ({ dataplaneToken: await readToken(setting.path), dataplaneTokenPath: setting.path });
}

/** Off the event loop, and only a regular file of a sane size: a FIFO or /dev/zero must not freeze the agent. */
async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readRegularFile(file, MAX_TOKEN_FILE_BYTES);
  } catch (error) {
    if (error instanceof FileRefused) throw new UserError(`the dataplane token file ${file} is ${error.message}: check --dataplane-token-file`);
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`cannot read the dataplane token file ${file} (${code}): check --dataplane-token-file and its permissions`);
  }
  const token = text.trim();
  if (token === '') throw new UserError(`the dataplane token file ${file} is empty`);
  if (!TOKEN_TEXT.test(token)) {
    throw new UserError(`the dataplane token file ${file} holds more than one token: a line break, a space or a control character inside it`);
  }
  return token;
}

/**
 * Something the operator gave or set up is wrong and can be fixed (a flag, a file, a port taken):
 * `main` prints the message as one line, with no stack trace, and exits non-zero.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

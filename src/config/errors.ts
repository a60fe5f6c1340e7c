/**
 * An error the user caused and can fix: printed as one line, without a stack trace.
 * `exitCode` 2 marks a usage error (a flag that does not exist, a bad command line).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

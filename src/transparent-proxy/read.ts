import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../config/errors.js';
import type { TransparentProxyDocument } from './config.js';

// kumactl's configuration is a few hundred bytes; anything near this is not one.
const MAX_BYTES = 1024 * 1024;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Reads every --transparent-proxy-config value (a path, or - for stdin) at the edge, bounded. */
export function readTransparentProxyDocuments(sources: readonly string[]): TransparentProxyDocument[] {
  return sources.map((source) => ({ source, text: readBounded(source) }));
}

function readBounded(source: string): string {
  const what = `--transparent-proxy-config ${source === '-' ? '(stdin)' : source}`;
  let fd: number;
  try {
    fd = source === '-' ? 0 : openSync(source, 'r');
  } catch (error) {
    throw new UserError(`cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    if (source !== '-' && !fstatSync(fd).isFile()) throw new UserError(`cannot read ${what}: not a regular file`);
    const buffer = Buffer.alloc(MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, length, buffer.length - length, null);
      } catch (error) {
        // A stdin that is a terminal or non-blocking pipe may have nothing yet: wait for it.
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(PAUSE, 0, 0, 10);
          continue;
        }
        throw new UserError(`cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      if (read === 0) break;
      length += read;
      if (length > MAX_BYTES) throw new UserError(`${what}: larger than ${MAX_BYTES} bytes; this is not a transparent-proxy configuration`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    if (source !== '-') closeSync(fd);
  }
}

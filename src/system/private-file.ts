import { chmodSync, renameSync, writeFileSync } from 'node:fs';

/** Writes a file readable by its owner only, atomically so a restarting Envoy never reads half of it. */
export function writePrivateFile(file: string, content: string): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, content, { mode: 0o600 });
  // mode is ignored for an existing file and masked by umask for a new one.
  chmodSync(partial, 0o600);
  renameSync(partial, file);
}

import { readFileSync } from 'node:fs';

/** This agent's own version, from the package.json it ships with. */
export function agentVersion(): string {
  const manifest = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

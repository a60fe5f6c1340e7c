import { open, stat } from 'node:fs/promises';
import { isIP } from 'node:net';

/** Where queries for names that are not the mesh's go. */
export interface Upstream {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
const MAX_BYTES = 64 * 1024;

/** The first usable `nameserver` line, as Go's miekg/dns ClientConfigFromFile picks it (port 53). */
export function firstNameserver(text: string): Upstream | undefined {
  for (const line of text.split('\n')) {
    const [keyword, value] = line.trim().split(/\s+/);
    if (keyword !== 'nameserver' || value === undefined) continue;
    // A link-local IPv6 nameserver may carry its interface: fe80::1%eth0.
    const family = isIP(value.split('%')[0]!);
    if (family === 4 || family === 6) return { address: value, port: 53, family };
  }
  return undefined;
}

/**
 * resolv.conf, read again whenever it changed (NetworkManager, DHCP and systemd-resolved rewrite
 * it): one stat per forwarded query, a read only after a change.
 */
export class ResolvConf {
  private seen?: string;
  private upstream?: Upstream;

  constructor(readonly path: string = DEFAULT_RESOLV_CONF) {}

  async current(): Promise<Upstream | undefined> {
    let version: string;
    try {
      const info = await stat(this.path);
      version = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    } catch {
      this.seen = undefined;
      return (this.upstream = undefined);
    }
    if (version !== this.seen) {
      this.seen = version;
      this.upstream = firstNameserver(await readBounded(this.path));
    }
    return this.upstream;
  }
}

async function readBounded(path: string): Promise<string> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return '';
  try {
    const buffer = Buffer.alloc(MAX_BYTES);
    const { bytesRead } = await file.read(buffer, 0, MAX_BYTES, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await file.close();
  }
}

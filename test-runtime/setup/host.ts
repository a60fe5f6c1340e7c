// What the runtime suite needs of the machine, and installing what Debian can provide.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../../src/process/lookup.js';
import { runCommand } from '../engine.js';

const SYSTEM_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

/** Why this machine cannot run the suite, or undefined when it can. */
export function missingRequirement(): string | undefined {
  if (process.platform !== 'linux') return 'it needs Linux';
  if (process.getuid?.() !== 0) return 'it needs root (podman, debootstrap, a systemd container)';
  if (!existsSync('/etc/debian_version') || !findOnPath('apt-get', SYSTEM_PATH)) return 'it needs Debian (apt-get, debootstrap)';
  return undefined;
}

/** Each command the suite runs, and the Debian package that brings it. */
const PACKAGES: ReadonlyArray<{ command: string; pkg: string }> = [
  { command: 'podman', pkg: 'podman' },
  { command: 'runc', pkg: 'runc' },
  { command: 'debootstrap', pkg: 'debootstrap' },
  { command: 'ip', pkg: 'iproute2' },
  { command: 'unshare', pkg: 'util-linux' },
];

/** Installs the packages of the commands that are missing; returns their names. */
export async function installMissingPackages(log: (line: string) => void): Promise<string[]> {
  const missing = [...new Set(PACKAGES.filter((p) => !findOnPath(p.command, SYSTEM_PATH)).map((p) => p.pkg))];
  if (missing.length === 0) return [];
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...missing]]) {
    const result = await runCommand('apt-get', args, { env, timeoutMs: 600_000 });
    if (result.code !== 0) throw new Error(`apt-get ${args.join(' ')} exited ${result.code}:\n${result.stderr.trim()}`);
  }
  return missing;
}

/** The host's Debian release (bookworm, …): the images are made of the same, so the host's node runs in them. */
export function debianCodename(): string {
  const release = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\S+)$/m)?.[1];
  if (!release) throw new Error('/etc/os-release names no VERSION_CODENAME');
  return release;
}

/**
 * The Debian mirror this machine's apt uses for its release, from /etc/apt/sources.list and the
 * deb822 files of sources.list.d, so that debootstrap fetches from where apt is allowed to.
 */
export function aptMirror(codename: string): string {
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : [])];
  for (const file of files.filter((f) => existsSync(f) && (f.endsWith('.list') || f.endsWith('.sources')))) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const match = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s/);
        if (match && match[2] === codename) return match[1]!;
      }
      continue;
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim().split(/\s+/) ?? [];
      if (!field('Types').includes('deb') || !field('Suites').includes(codename) || field('Enabled')[0] === 'no') continue;
      const uri = field('URIs')[0];
      if (uri) return uri;
    }
  }
  throw new Error(`no apt source for ${codename} in /etc/apt: debootstrap needs a Debian mirror`);
}

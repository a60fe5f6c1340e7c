import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface CgroupPaths {
  /** Where the cgroup hierarchies are mounted. */
  readonly root?: string;
  /** The process's own membership list. */
  readonly selfCgroup?: string;
}

// cgroup v1 says "no limit" with the largest page-aligned 64-bit value, not with a word.
const V1_UNLIMITED = 2 ** 62;

function readLimit(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) return undefined; // v2's "max"
  const bytes = Number(text);
  return bytes > 0 && bytes < V1_UNLIMITED ? bytes : undefined;
}

/** Limits on the way from the process's cgroup up to the hierarchy's root: a parent's limit binds the child too. */
function limitsAlong(mount: string, cgroup: string, file: string): number[] {
  const base = path.resolve(mount);
  const own = path.resolve(base, `.${cgroup}`);
  const limits: number[] = [];
  // A path reaching above the mount (`/..` from another cgroup namespace) tells nothing: use the mount's root.
  for (let dir = own.startsWith(`${base}${path.sep}`) ? own : base; ; dir = path.dirname(dir)) {
    const limit = readLimit(path.join(dir, file));
    if (limit !== undefined) limits.push(limit);
    if (dir === base) break;
  }
  return limits;
}

/**
 * The memory limit of this process's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`), the
 * tightest of its ancestors', or undefined when nothing limits it. In a container without its own
 * cgroup namespace the listed path does not exist under the mount, and the mount's root is the
 * container's cgroup: it is checked last either way.
 */
export function cgroupMemoryLimit(paths: CgroupPaths = {}): number | undefined {
  const root = paths.root ?? '/sys/fs/cgroup';
  let membership = '';
  try {
    membership = readFileSync(paths.selfCgroup ?? '/proc/self/cgroup', 'utf8');
  } catch {
    return undefined; // not Linux, or no /proc
  }
  const limits: number[] = [];
  for (const line of membership.split('\n')) {
    const match = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers, cgroup] = match as unknown as [string, string, string];
    if (controllers === '') limits.push(...limitsAlong(root, cgroup, 'memory.max'));
    else if (controllers.split(',').includes('memory')) limits.push(...limitsAlong(path.join(root, 'memory'), cgroup, 'memory.limit_in_bytes'));
  }
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

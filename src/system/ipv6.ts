import os from 'node:os';

type Interfaces = ReturnType<typeof os.networkInterfaces>;

/**
 * Whether the host has an IPv6 address other than loopback, as Go kuma-dp decides before telling
 * kuma-cp `ipv6Enabled` (pkg/transparentproxy/config HasLocalIPv6): any interface's, link-local
 * ones included, but not ::1 and not IPv4 written as IPv6.
 */
export function hasLocalIPv6(interfaces: Interfaces = os.networkInterfaces()): boolean {
  return Object.values(interfaces).some((addresses) =>
    (addresses ?? []).some((a) => a.family === 'IPv6' && a.address !== '::1' && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a.address)),
  );
}

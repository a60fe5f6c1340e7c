import type { DataplaneConfig } from '../transparent-proxy/config.js';
import type { ListenAddress } from './server.js';

/**
 * Where the DNS proxy listens, as Go kuma-dp chooses (app/kuma-dp/cmd/run.go dnsProxyAddresses),
 * but for one case. iptables redirects an application's DNS to 127.0.0.1 (and ::1 when dual-stack);
 * with virtual networks (VNet) it redirects their traffic to the interface's own address, so every
 * interface is needed: the operator asked for that by listing the networks. Without a transparent
 * proxy Go listens on 0.0.0.0, which makes every VM an open DNS forwarder for its whole network;
 * this agent listens on 127.0.0.1 instead, where local resolvers (systemd-resolved, dnsmasq) reach it.
 * IPv4 and IPv6 are bound apart: with net.ipv6.bindv6only=1 one `::` socket would miss IPv4.
 */
export function dnsBindAddresses(transparentProxy: DataplaneConfig | undefined, port: number): ListenAddress[] {
  const dualStack = transparentProxy !== undefined && transparentProxy.ipFamilyMode !== 'ipv4';
  const vnet = (transparentProxy?.redirect.vnet.networks?.length ?? 0) > 0;
  const hosts = vnet ? ['0.0.0.0', ...(dualStack ? ['::'] : [])] : ['127.0.0.1', ...(dualStack ? ['::1'] : [])];
  return hosts.map((host) => ({ host, port }));
}

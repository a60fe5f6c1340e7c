import type { RunConfig } from '../config/run-config.js';
import type { Clock } from '../runtime/clock.js';
import { dnsBindAddresses } from './bind-addresses.js';
import { dnsComponent, type DnsComponent } from './component.js';
import type { DnsProxies } from './proxies.js';

/**
 * The DNS part a dataplane runs, if any. Names reach the proxy only through a transparent proxy
 * (kuma-cp sends `/dns`, iptables redirect DNS to it) or with --bind-outbounds (names derived
 * from Envoy's listeners); without either it would be a bare forwarder nobody asks, so the
 * dataplane does not join it.
 */
export function dnsProxyFor(config: RunConfig, proxies: DnsProxies, clock: Clock): DnsComponent | undefined {
  const tp = config.transparentProxy;
  if (!config.dns.enabled || (!tp && !config.bindOutbounds)) return undefined;
  return dnsComponent({
    proxies,
    id: `${config.dataplane.mesh}/${config.dataplane.name}`,
    addresses: dnsBindAddresses(tp, config.dns.proxyPort),
    // kuma-cp sends `/dns` only to a transparent proxy that redirects traffic, never with bind-outbounds.
    waitForRecords: tp !== undefined && !config.bindOutbounds && (tp.redirect.inbound.enabled || tp.redirect.outbound.enabled),
    clock,
  });
}

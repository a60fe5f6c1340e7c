import type { RunConfig } from '../config/run-config.js';
import type { Clock } from '../runtime/clock.js';
import { dnsBindAddresses } from './bind-addresses.js';
import { createDnsProxy, type DnsProxy } from './component.js';

/**
 * The DNS proxy a dataplane runs, if any. Names reach it only through a transparent proxy (kuma-cp
 * sends `/dns`, iptables redirect DNS to it) or with --bind-outbounds (names derived from Envoy's
 * listeners); without either it would be a bare forwarder nobody asks, so it does not start.
 */
export function dnsProxyFor(config: RunConfig, clock: Clock): DnsProxy | undefined {
  const tp = config.transparentProxy;
  if (!config.dns.enabled || (!tp && !config.bindOutbounds)) return undefined;
  return createDnsProxy({
    addresses: dnsBindAddresses(tp, config.dns.proxyPort),
    // kuma-cp sends `/dns` only to a transparent proxy that redirects traffic, never with bind-outbounds.
    waitForRecords: tp !== undefined && !config.bindOutbounds && (tp.redirect.inbound.enabled || tp.redirect.outbound.enabled),
    clock,
  });
}

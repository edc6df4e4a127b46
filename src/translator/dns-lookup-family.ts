// Lookup-family spellings: EgressGateway, Backend, Envoy Gateway and Envoy each have their own.
import { BackendDnsLookupFamily, EgressDnsLookupFamily } from '../gateway';

/** EgressGateway dns.lookupFamily -> Envoy Gateway BackendTrafficPolicy dns.lookupFamily. */
export const GATEWAY_FAMILY_TO_EG: Record<EgressDnsLookupFamily, string> = {
  V4Preferred: 'IPv4Preferred',
  V4Only: 'IPv4',
  V6Only: 'IPv6',
  // Envoy's AUTO prefers IPv6; Envoy Gateway spells that IPv6Preferred.
  Auto: 'IPv6Preferred',
  All: 'IPv4AndIPv6',
};

/** Backend dnsCacheConfig.dnsLookupFamily -> Envoy Gateway dns.lookupFamily. */
export const BACKEND_FAMILY_TO_EG: Record<BackendDnsLookupFamily, string> = {
  auto: 'IPv6Preferred',
  v4_only: 'IPv4',
  v6_only: 'IPv6',
  v4_preferred: 'IPv4Preferred',
  all: 'IPv4AndIPv6',
};

/** Envoy Gateway spelling -> Envoy's Cluster.DnsLookupFamily enum. */
export const EG_FAMILY_TO_ENVOY: Record<string, string> = {
  IPv4: 'V4_ONLY',
  IPv6: 'V6_ONLY',
  IPv4Preferred: 'V4_PREFERRED',
  IPv6Preferred: 'AUTO',
  IPv4AndIPv6: 'ALL',
};

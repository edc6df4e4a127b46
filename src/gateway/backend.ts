// Backend (core.apoxy.dev/v1alpha2, cluster-scoped): schema, cross-field rules and defaults.
import { DEFAULT_BACKEND_DNS_LOOKUP_FAMILY } from './defaults';
import { parseDurationMs } from './duration';
import { arr, checkValue, int, obj, str } from './field-schema';
import { OBJECT_META } from './common-schema';
import { joinPath, Problem } from './problems';
import { Backend, BackendDnsLookupFamily, BackendProtocol, DynamicProxyDnsCacheConfig } from './types';

export const BACKEND_API_VERSION = 'core.apoxy.dev/v1alpha2';
export const BACKEND_PROTOCOLS = ['', 'tls', 'h2', 'h2c'] as const;
export const BACKEND_DNS_LOOKUP_FAMILIES = ['auto', 'v4_only', 'v6_only', 'v4_preferred', 'all'] as const;

const FQDN = {
  regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9]))*$/,
  describe: 'a lowercase fully qualified domain name',
};

const DNS_CACHE_CONFIG = obj({
  dnsLookupFamily: str({ enum: BACKEND_DNS_LOOKUP_FAMILIES }),
  dnsRefreshRate: str({ format: 'duration', minDurationMs: 1 }),
  dnsMinRefreshRate: str({ format: 'duration', minDurationMs: 1000 }),
  dnsQueryTimeout: str({ format: 'duration', minDurationMs: 1 }),
  hostTTL: str({ format: 'duration', minDurationMs: 1 }),
  maxHosts: int(1, 4_294_967_295),
});

export const BACKEND_SCHEMA = obj(
  {
    apiVersion: str({ enum: [BACKEND_API_VERSION] }),
    kind: str({ enum: ['Backend'] }),
    metadata: OBJECT_META,
    spec: obj(
      {
        endpoints: arr(obj({ fqdn: str({ minLength: 1, maxLength: 253, pattern: FQDN }), ip: str({ format: 'ip' }) })),
        dynamicProxy: obj({ dnsCacheConfig: DNS_CACHE_CONFIG }),
        protocol: str({ enum: BACKEND_PROTOCOLS }),
      },
      ['endpoints', 'protocol'],
    ),
    status: { type: 'any' },
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

function durationMs(text: unknown): number | undefined {
  return typeof text === 'string' ? parseDurationMs(text) : undefined;
}

/** Validate a parsed Backend document; returns the typed resource when there are no problems. */
export function parseBackend(raw: unknown, problems: Problem[]): Backend | undefined {
  const before = problems.length;
  checkValue(raw, BACKEND_SCHEMA, '', problems);
  if (problems.length > before) return undefined;
  const doc = raw as Record<string, any>;
  const spec = doc.spec as Record<string, any>;
  const endpoints = (spec.endpoints as Array<Record<string, string>>).map((e) => ({ ...e }));
  endpoints.forEach((endpoint, i) => {
    const path = joinPath('spec.endpoints', i);
    const count = (endpoint.fqdn ? 1 : 0) + (endpoint.ip ? 1 : 0);
    if (count !== 1) problems.push({ path, message: 'set exactly one of fqdn or ip' });
  });
  if (!spec.dynamicProxy && endpoints.length === 0) {
    problems.push({ path: 'spec.endpoints', message: 'must have at least 1 item unless dynamicProxy is set' });
  }
  if (doc.metadata.namespace !== undefined) {
    problems.push({ path: 'metadata.namespace', message: 'Backend is cluster-scoped; remove metadata.namespace' });
  }
  if (problems.length > before) return undefined;

  const backend: Backend = {
    apiVersion: BACKEND_API_VERSION,
    kind: 'Backend',
    metadata: { ...doc.metadata },
    spec: { endpoints, protocol: spec.protocol as BackendProtocol },
  };
  if (spec.dynamicProxy) {
    const raw = spec.dynamicProxy.dnsCacheConfig ?? {};
    const config: DynamicProxyDnsCacheConfig = {
      dnsLookupFamily: (raw.dnsLookupFamily ?? DEFAULT_BACKEND_DNS_LOOKUP_FAMILY) as BackendDnsLookupFamily,
    };
    const optional: Array<[keyof DynamicProxyDnsCacheConfig, number | undefined]> = [
      ['dnsRefreshRateMs', durationMs(raw.dnsRefreshRate)],
      ['dnsMinRefreshRateMs', durationMs(raw.dnsMinRefreshRate)],
      ['dnsQueryTimeoutMs', durationMs(raw.dnsQueryTimeout)],
      ['hostTtlMs', durationMs(raw.hostTTL)],
      ['maxHosts', raw.maxHosts],
    ];
    for (const [key, value] of optional) if (value !== undefined) (config as any)[key] = value;
    backend.spec.dynamicProxy = { dnsCacheConfig: config };
  }
  return backend;
}

// EgressGateway (clrk.apoxy.dev/v1alpha1): schema, cross-field rules and documented defaults.
import { DEFAULT_CAPTURE_CONTENT_TYPES, DEFAULT_CAPTURE_MAX_BYTES, DEFAULT_DNS_LOOKUP_FAMILY, DEFAULT_NAMESPACE, DEFAULT_REQUEST_TIMEOUT_MS } from './defaults';
import { parseDurationMs } from './duration';
import { arr, checkValue, int, map, obj, str } from './field-schema';
import { ALLOWED_ROUTES, DNS_LABEL, OBJECT_META, SECRET_OBJECT_REFERENCE } from './common-schema';
import { joinPath, Problem } from './problems';
import { EgressDnsLookupFamily, EgressGateway, EgressListener, EgressPolicy } from './types';

export const EGRESS_GATEWAY_API_VERSION = 'clrk.apoxy.dev/v1alpha1';

export const LISTENER_PROTOCOLS = ['TCP', 'TLS', 'HTTP', 'HTTPS', 'UDP'] as const;
export const TLS_MODES = ['Passthrough', 'Terminate'] as const;
export const DNS_LOOKUP_FAMILIES = ['V4Preferred', 'V4Only', 'V6Only', 'Auto', 'All'] as const;
export const EGRESS_POLICIES = ['allow-all', 'deny-all'] as const;

const LISTENER = obj(
  {
    name: str({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
    protocol: str({ enum: LISTENER_PROTOCOLS }),
    port: int(1, 65535),
    tls: obj({ mode: str({ enum: TLS_MODES }), caCertRef: SECRET_OBJECT_REFERENCE }, ['mode']),
    allowedRoutes: ALLOWED_ROUTES,
  },
  ['name', 'protocol'],
);

const SPEC = obj(
  {
    defaultPolicy: str({ enum: EGRESS_POLICIES }),
    dns: obj({ lookupFamily: str({ enum: DNS_LOOKUP_FAMILIES }) }),
    listeners: arr(LISTENER, 1, 64),
    otlp: obj({
      endpoint: str({ format: 'url' }),
      headers: map(str()),
      captureBody: obj({ maxBytes: int(0, 2_147_483_647), includeContentTypes: arr(str({ minLength: 1 })) }),
    }),
    requestTimeout: str({ format: 'duration', minDurationMs: 1 }),
    upstreamTLS: obj({
      additionalTrustBundleSecretRef: SECRET_OBJECT_REFERENCE,
      hostAliases: arr(obj({ ip: str({ format: 'ip' }), hostnames: arr(str({ minLength: 1 }), 1) }, ['ip', 'hostnames'])),
    }),
  },
  ['defaultPolicy', 'listeners'],
);

export const EGRESS_GATEWAY_SCHEMA = obj(
  {
    apiVersion: str({ enum: [EGRESS_GATEWAY_API_VERSION] }),
    kind: str({ enum: ['EgressGateway'] }),
    metadata: OBJECT_META,
    spec: SPEC,
    status: { type: 'any' },
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

/** Rules the per-field schema cannot express (they relate several fields). */
function checkListenerRules(listeners: EgressListener[], problems: Problem[]): void {
  const seen = new Map<string, number>();
  listeners.forEach((listener, i) => {
    const path = joinPath('spec.listeners', i);
    const earlier = seen.get(listener.name);
    if (earlier !== undefined) {
      problems.push({ path: `${path}.name`, message: `duplicate listener name ${JSON.stringify(listener.name)} (also spec.listeners[${earlier}])` });
    } else {
      seen.set(listener.name, i);
    }
    const tls = listener.tls;
    switch (listener.protocol) {
      case 'TLS':
        if (!tls) problems.push({ path: `${path}.tls`, message: 'required when protocol is TLS' });
        break;
      case 'HTTPS':
        // HTTPS is the newer spelling of "HTTP with TLS termination": it only makes sense terminated.
        if (tls && tls.mode !== 'Terminate') {
          problems.push({ path: `${path}.tls.mode`, message: 'must be Terminate when protocol is HTTPS' });
        }
        if (!tls) problems.push({ path: `${path}.tls`, message: 'required when protocol is HTTPS (mode Terminate with a caCertRef)' });
        break;
      case 'HTTP':
        if (tls && tls.mode !== 'Terminate') {
          problems.push({ path: `${path}.tls.mode`, message: 'must be Terminate on an HTTP listener (tls enables HTTPS interception)' });
        }
        break;
      case 'TCP':
      case 'UDP':
        if (tls) problems.push({ path: `${path}.tls`, message: `not allowed when protocol is ${listener.protocol}` });
        break;
    }
    if (tls && tls.mode === 'Terminate' && !tls.caCertRef) {
      problems.push({ path: `${path}.tls.caCertRef`, message: 'required when tls.mode is Terminate' });
    }
  });
}

/**
 * Validate a parsed EgressGateway document and apply the documented defaults. Returns the typed
 * resource only when there are no problems.
 */
export function parseEgressGateway(raw: unknown, problems: Problem[]): EgressGateway | undefined {
  const before = problems.length;
  checkValue(raw, EGRESS_GATEWAY_SCHEMA, '', problems);
  if (problems.length > before) return undefined;
  // The schema check above guarantees the shapes used below.
  const doc = raw as Record<string, any>;
  const spec = doc.spec as Record<string, any>;
  const listeners: EgressListener[] = (spec.listeners as any[]).map((l) => {
    const listener: EgressListener = { name: l.name, protocol: l.protocol };
    if (l.port != null) listener.port = l.port;
    if (l.tls != null) {
      listener.tls = { mode: l.tls.mode };
      if (l.tls.caCertRef != null) listener.tls.caCertRef = { ...l.tls.caCertRef };
    }
    if (l.allowedRoutes != null) listener.allowedRoutes = structuredClone(l.allowedRoutes);
    return listener;
  });
  checkListenerRules(listeners, problems);
  if (problems.length > before) return undefined;

  const otlp = spec.otlp ?? {};
  const captureBody = otlp.captureBody ?? {};
  const contentTypes: string[] = captureBody.includeContentTypes ?? [];
  return {
    apiVersion: EGRESS_GATEWAY_API_VERSION,
    kind: 'EgressGateway',
    metadata: { ...doc.metadata, namespace: doc.metadata.namespace ?? DEFAULT_NAMESPACE },
    spec: {
      defaultPolicy: spec.defaultPolicy as EgressPolicy,
      listeners,
      dns: { lookupFamily: (spec.dns?.lookupFamily ?? DEFAULT_DNS_LOOKUP_FAMILY) as EgressDnsLookupFamily },
      otlp: {
        endpoint: otlp.endpoint ?? '',
        headers: { ...(otlp.headers ?? {}) },
        captureBody: {
          maxBytes: captureBody.maxBytes ?? DEFAULT_CAPTURE_MAX_BYTES,
          // "Empty means the default set", so an explicit [] also gets the defaults.
          includeContentTypes: contentTypes.length > 0 ? [...contentTypes] : [...DEFAULT_CAPTURE_CONTENT_TYPES],
        },
      },
      requestTimeoutMs: spec.requestTimeout != null ? parseDurationMs(spec.requestTimeout)! : DEFAULT_REQUEST_TIMEOUT_MS,
      upstreamTLS: {
        ...(spec.upstreamTLS?.additionalTrustBundleSecretRef ? { additionalTrustBundleSecretRef: { ...spec.upstreamTLS.additionalTrustBundleSecretRef } } : {}),
        hostAliases: structuredClone(spec.upstreamTLS?.hostAliases ?? []),
      },
    },
  };
}

// Every default the custom resources document, in one place, with its unit in the name.
// The values follow the EgressGateway / Backend API references; change them only together
// with those references.

/** EgressGateway.spec.requestTimeout when unset: 5 minutes covers streamed AI completions. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5 * 60 * 1000;

/** EgressGateway.spec.dns.lookupFamily when unset. */
export const DEFAULT_DNS_LOOKUP_FAMILY = 'V4Preferred';

/** EgressGateway.spec.otlp.captureBody.maxBytes when unset: 64 KiB per direction. */
export const DEFAULT_CAPTURE_MAX_BYTES = 64 * 1024;

/**
 * EgressGateway.spec.otlp.captureBody.includeContentTypes when unset or empty:
 * the formats model APIs answer in (JSON, NDJSON, SSE, and AWS eventstream,
 * which carries Bedrock's streams), so every folded API is folded by default.
 */
export const DEFAULT_CAPTURE_CONTENT_TYPES: readonly string[] = ['application/json', 'application/x-ndjson', 'text/event-stream', 'application/vnd.amazon.eventstream'];

/** Namespace assumed for a namespaced resource whose metadata.namespace is unset. */
export const DEFAULT_NAMESPACE = 'default';

/** Backend.spec.dynamicProxy.dnsCacheConfig.dnsLookupFamily when unset. */
export const DEFAULT_BACKEND_DNS_LOOKUP_FAMILY = 'auto';

// TypeScript shapes of the custom resources the product reads, after defaults are applied.
// Field names follow the published API references for EgressGateway
// (clrk.apoxy.dev/v1alpha1), Backend (core.apoxy.dev/v1alpha2) and TCPRoute
// (gateway.apoxy.dev/v1alpha2); shared shapes reuse Gateway API's types.

export interface ObjectMeta {
  name: string;
  /** Unset for cluster-scoped kinds (Backend). */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** RFC 3339; used to break conflicts in favour of the oldest resource. */
  creationTimestamp?: string;
  uid?: string;
}

/** Gateway API SecretObjectReference. */
export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Gateway API AllowedRoutes, copied verbatim onto the generated Gateway listener. */
export interface AllowedRoutes {
  namespaces?: { from?: 'All' | 'Same' | 'Selector'; selector?: LabelSelector };
  kinds?: Array<{ group?: string; kind: string }>;
}

export type EgressPolicy = 'allow-all' | 'deny-all';
export type EgressListenerProtocol = 'TCP' | 'TLS' | 'HTTP' | 'HTTPS' | 'UDP';
export type EgressTlsMode = 'Passthrough' | 'Terminate';
export type EgressDnsLookupFamily = 'V4Preferred' | 'V4Only' | 'V6Only' | 'Auto' | 'All';

export interface EgressListenerTls {
  mode: EgressTlsMode;
  caCertRef?: SecretObjectReference;
}

export interface EgressListener {
  name: string;
  protocol: EgressListenerProtocol;
  /** Unset means "every destination port at this protocol layer". */
  port?: number;
  tls?: EgressListenerTls;
  allowedRoutes?: AllowedRoutes;
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface EgressGatewaySpec {
  defaultPolicy: EgressPolicy;
  listeners: EgressListener[];
  dns: { lookupFamily: EgressDnsLookupFamily };
  otlp: {
    endpoint: string;
    headers: Record<string, string>;
    captureBody: { maxBytes: number; includeContentTypes: string[] };
  };
  /** Milliseconds; defaulted to 5 minutes. */
  requestTimeoutMs: number;
  upstreamTLS: {
    additionalTrustBundleSecretRef?: SecretObjectReference;
    hostAliases: HostAlias[];
  };
}

export interface EgressGateway {
  apiVersion: 'clrk.apoxy.dev/v1alpha1';
  kind: 'EgressGateway';
  metadata: ObjectMeta & { namespace: string };
  spec: EgressGatewaySpec;
}

export type BackendProtocol = '' | 'tls' | 'h2' | 'h2c';
export type BackendDnsLookupFamily = 'auto' | 'v4_only' | 'v6_only' | 'v4_preferred' | 'all';

export interface BackendEndpoint {
  fqdn?: string;
  ip?: string;
}

export interface DynamicProxyDnsCacheConfig {
  dnsLookupFamily: BackendDnsLookupFamily;
  dnsRefreshRateMs?: number;
  dnsMinRefreshRateMs?: number;
  dnsQueryTimeoutMs?: number;
  hostTtlMs?: number;
  maxHosts?: number;
}

export interface Backend {
  apiVersion: 'core.apoxy.dev/v1alpha2';
  kind: 'Backend';
  /** Cluster-scoped: no namespace. */
  metadata: ObjectMeta;
  spec: {
    endpoints: BackendEndpoint[];
    protocol: BackendProtocol;
    dynamicProxy?: { dnsCacheConfig: DynamicProxyDnsCacheConfig };
  };
}

/** Gateway API ParentReference; group/kind default to clrk.apoxy.dev/EgressGateway here. */
export interface ParentReference {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendRef {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

export interface TcpRoute {
  apiVersion: 'gateway.apoxy.dev/v1alpha2' | 'gateway.networking.k8s.io/v1alpha2';
  kind: 'TCPRoute';
  metadata: ObjectMeta;
  spec: {
    parentRefs: ParentReference[];
    rules: Array<{ name?: string; backendRefs: BackendRef[] }>;
  };
}

export type GatewayResource = EgressGateway | Backend | TcpRoute;

/** Where a resource came from, for messages: "FILE (document N)". */
export interface SourceRef {
  file: string;
  /** 1-based index of the YAML document in the file. */
  document: number;
}

export interface Sourced<T> {
  resource: T;
  source: SourceRef;
}

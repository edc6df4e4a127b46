/**
 * Envoy bootstraps for the end-to-end tests and the bench: one Envoy, several
 * listeners, each with its own ext_proc filter configuration, all routing to a
 * loopback upstream. Every port is 0 (the kernel picks; `EnvoyProcess` reads
 * the bound ports back from the admin API), so nothing races for ports.
 *
 * The field names are Envoy's own (ExternalProcessor, ProcessingMode); the
 * options object only says which of them a listener sets.
 */
import type { ProcessingModeOptions } from '../emulator';

/** The same shape the emulator takes, so a scenario configures both alike. */
export type ProcessingModeConfig = ProcessingModeOptions;

export interface ExtProcConfig {
  processingMode: ProcessingModeConfig;
  messageTimeoutMs?: number;
  failureModeAllow?: boolean;
  observabilityMode?: boolean;
  allowModeOverride?: boolean;
  sendBodyWithoutWaitingForHeaderResponse?: boolean;
  requestAttributes?: string[];
  responseAttributes?: string[];
  forwardingNamespaces?: string[];
  deferredCloseTimeoutMs?: number;
  /** The gRPC call's deadline (GrpcService.timeout); Envoy Gateway sets 10 s. */
  grpcTimeoutMs?: number;
  /** Name of the ext_proc cluster to use (default `ext_proc`). */
  cluster?: string;
}

export interface ListenerConfig {
  /** Also the HCM stat prefix: Envoy's stats for it are `http.<name>.ext_proc.*`. */
  name: string;
  /** Absent: no ext_proc filter (the bench's baseline). */
  extProc?: ExtProcConfig;
  /** Upstream cluster to route to (default `upstream_h1`). */
  upstream?: string;
  routeTimeoutMs?: number;
  /** per_connection_buffer_limit_bytes of the listener: the filter chain's buffer limit (Envoy's default is 1 MiB). */
  bufferLimitBytes?: number;
  /** Set static dynamic metadata on every request (namespace → key → value), as a PROXY-protocol or other filter would. */
  dynamicMetadata?: Record<string, Record<string, string>>;
  /**
   * Envoy 1.40+: its ai_protocol_manager filter extracts token usage into typed
   * metadata under this namespace, which ext_proc forwards. The filter sits after
   * ext_proc, so on the response path it runs first and ext_proc sees its result;
   * it synthesizes response trailers to carry the usage to ext_proc's trailers message.
   */
  aiTokenUsageNamespace?: string;
}

export type Endpoint = { port: number } | { unixPath: string };

export interface BootstrapOptions {
  listeners: ListenerConfig[];
  /** Where the upstream test server listens; HTTP/1.1 cluster `upstream_h1`, h2c cluster `upstream_h2`. */
  upstreamH1?: Endpoint;
  upstreamH2?: Endpoint;
  /** ext_proc servers by cluster name (at least `ext_proc`). */
  extProcClusters: Record<string, Endpoint>;
}

const MODE_FIELDS: Array<[keyof ProcessingModeConfig, string]> = [
  ['requestHeaderMode', 'request_header_mode'],
  ['responseHeaderMode', 'response_header_mode'],
  ['requestBodyMode', 'request_body_mode'],
  ['responseBodyMode', 'response_body_mode'],
  ['requestTrailerMode', 'request_trailer_mode'],
  ['responseTrailerMode', 'response_trailer_mode'],
];

function duration(ms: number): string {
  return `${ms / 1000}s`;
}

function address(endpoint: Endpoint): object {
  if ('unixPath' in endpoint) return { pipe: { path: endpoint.unixPath } };
  return { socket_address: { address: '127.0.0.1', port_value: endpoint.port } };
}

function cluster(name: string, endpoint: Endpoint, http2: boolean): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: address(endpoint) } }] }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
      },
    },
  };
}

export function extProcFilter(config: ExtProcConfig): object {
  const processingMode: Record<string, string> = {};
  for (const [option, field] of MODE_FIELDS) {
    const value = config.processingMode[option];
    if (value !== undefined) processingMode[field] = value;
  }
  return {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: { envoy_grpc: { cluster_name: config.cluster ?? 'ext_proc' }, timeout: duration(config.grpcTimeoutMs ?? 10_000) },
      processing_mode: processingMode,
      ...(config.messageTimeoutMs === undefined ? {} : { message_timeout: duration(config.messageTimeoutMs) }),
      ...(config.failureModeAllow ? { failure_mode_allow: true } : {}),
      ...(config.observabilityMode ? { observability_mode: true } : {}),
      ...(config.allowModeOverride ? { allow_mode_override: true } : {}),
      ...(config.sendBodyWithoutWaitingForHeaderResponse ? { send_body_without_waiting_for_header_response: true } : {}),
      ...(config.requestAttributes ? { request_attributes: config.requestAttributes } : {}),
      ...(config.responseAttributes ? { response_attributes: config.responseAttributes } : {}),
      ...(config.forwardingNamespaces ? { metadata_options: { forwarding_namespaces: { untyped: config.forwardingNamespaces } } } : {}),
      ...(config.deferredCloseTimeoutMs === undefined ? {} : { deferred_close_timeout: duration(config.deferredCloseTimeoutMs) }),
    },
  };
}

/** Sets fixed dynamic metadata per request with the set_metadata filter (stands in for PROXY-protocol TLVs and similar). */
function setMetadataFilter(metadata: Record<string, Record<string, string>>): object {
  return {
    name: 'envoy.filters.http.set_metadata',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.set_metadata.v3.Config',
      metadata: Object.entries(metadata).map(([namespace, value]) => ({ metadata_namespace: namespace, value })),
    },
  };
}

/** Envoy 1.40's AI filter: token usage of every route's answers into typed metadata under `namespace`. */
function aiProtocolManagerFilter(namespace: string): object {
  return {
    name: 'envoy.filters.http.ai_protocol_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ai_protocol_manager.v3.AiProtocolManager',
      request_handling: { parse_unconfigured_routes: true },
      response_handling: { token_usage: { include_unconfigured_routes: true, metadata_namespace: namespace, usage_signal: 'SYNTHESIZE_TRAILERS' } },
    },
  };
}

function listener(config: ListenerConfig): object {
  const filters: object[] = [];
  if (config.dynamicMetadata) filters.push(setMetadataFilter(config.dynamicMetadata));
  if (config.extProc) {
    const extProc = extProcFilter(config.extProc) as { typed_config: Record<string, unknown> };
    if (config.aiTokenUsageNamespace !== undefined) {
      const forwarding = (((extProc.typed_config['metadata_options'] ??= {}) as { forwarding_namespaces?: Record<string, string[]> }).forwarding_namespaces ??= {});
      forwarding['typed'] = [config.aiTokenUsageNamespace];
    }
    filters.push(extProc);
  }
  if (config.aiTokenUsageNamespace !== undefined) filters.push(aiProtocolManagerFilter(config.aiTokenUsageNamespace));
  filters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } });
  return {
    name: config.name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...(config.bufferLimitBytes === undefined ? {} : { per_connection_buffer_limit_bytes: config.bufferLimitBytes }),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: config.name,
              // AUTO: HTTP/1.1, and HTTP/2 with prior knowledge (h2c), on the same port.
              codec_type: 'AUTO',
              route_config: {
                name: config.name,
                virtual_hosts: [
                  {
                    name: 'all',
                    domains: ['*'],
                    routes: [
                      {
                        match: { prefix: '/' },
                        route: { cluster: config.upstream ?? 'upstream_h1', timeout: duration(config.routeTimeoutMs ?? 15_000) },
                      },
                    ],
                  },
                ],
              },
              http_filters: filters,
            },
          },
        ],
      },
    ],
  };
}

export function buildBootstrap(options: BootstrapOptions): object {
  const clusters: object[] = [];
  if (options.upstreamH1) clusters.push(cluster('upstream_h1', options.upstreamH1, false));
  if (options.upstreamH2) clusters.push(cluster('upstream_h2', options.upstreamH2, true));
  for (const [name, endpoint] of Object.entries(options.extProcClusters)) clusters.push(cluster(name, endpoint, true));
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: { listeners: options.listeners.map(listener), clusters },
  };
}

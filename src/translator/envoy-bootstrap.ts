// Standalone Envoy bootstrap (--target envoy): the same gateway plan rendered as a static
// envoy.config.bootstrap.v3.Bootstrap for running the gateway without Kubernetes. Needs
// Envoy >= 1.37 when a listener terminates TLS (on-demand certificate selector).
import * as net from 'node:net';
import * as path from 'node:path';
import { Backend, formatProtoDuration } from '../gateway';
import { CAPTURE_ATTRIBUTES } from './capture-attributes';
import { certMinterTransportSocket } from './cert-minter-tls';
import { dnsCacheConfig, DnsCacheSettings, onDemandSecretSelector } from './envoy-patch-policy';
import { createGatewayContext, GatewayContext } from './gateway-context';
import { GatewayPlan, ListenerPlan } from './gateway-plan';
import { BACKEND_FAMILY_TO_EG, EG_FAMILY_TO_ENVOY, GATEWAY_FAMILY_TO_EG } from './dns-lookup-family';
import { CAPTURE_MAX_PARALLEL_STREAMS, EGRESS_MAX_PARALLEL_REQUESTS, captureServerName, CERT_SDS_PORT, CONNECT_TIMEOUT_SECONDS, TLS_HANDSHAKE_TIMEOUT_SECONDS, TranslateOptions } from './options';
import { OutputObject } from './output-object';
import { proxyProtocolRules, WORKLOAD_METADATA_NAMESPACE } from './workload-identity';
import { policyRoutes } from './policy-routes';
import { GATEWAY_METADATA_HEADER } from '../capture/gateway-identity';
import { EXT_PROC_STREAMS_PER_CONNECTION } from '../extproc/stream-limits';

const T = 'type.googleapis.com/';
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** Local admin interface; loopback only. */
const ADMIN_PORT = 9901;
/** How long ext_proc keeps a stream open after the request ends, in seconds. */
const DEFERRED_CLOSE_SECONDS = 5;
/** gRPC timeout for the capture stream, in seconds. */
const CAPTURE_GRPC_TIMEOUT_SECONDS = 10;

function typed(type: string, body: Record<string, unknown> = {}): Record<string, unknown> {
  return { '@type': `${T}${type}`, ...body };
}

function http2Options(http2: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
      explicit_http_config: { http2_protocol_options: http2 },
    }),
  };
}

function socketAddress(address: string, port: number, protocol?: 'UDP'): Record<string, unknown> {
  return { socket_address: { ...(protocol ? { protocol } : {}), address, port_value: port } };
}

function grpcCluster(name: string, host: string, port: number): Record<string, unknown> {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    typed_extension_protocol_options: http2Options(),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }] },
  };
}

/**
 * TLS to the capture service's ext_proc port: the CA from --capture-tls-ca-file,
 * the server name sent as SNI and required in the certificate's SAN, Envoy's
 * client certificate from a mounted kubernetes.io/tls Secret for mTLS, and
 * ALPN h2 (a gRPC server over TLS accepts HTTP/2 negotiated by ALPN only).
 * The files are read when Envoy starts: rotating them needs an Envoy restart
 * (or hot restart), as for every other file this bootstrap names.
 */
function captureTransportSocket(options: TranslateOptions): Record<string, unknown> {
  const tls = options.captureTls!;
  const serverName = captureServerName(options);
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
      sni: serverName,
      common_tls_context: {
        alpn_protocols: ['h2'],
        validation_context: {
          trusted_ca: { filename: tls.caFile! },
          match_typed_subject_alt_names: [{ san_type: net.isIP(serverName) === 0 ? 'DNS' : 'IP_ADDRESS', matcher: { exact: serverName } }],
        },
        ...(tls.clientCertDir !== undefined
          ? { tls_certificates: [{ certificate_chain: { filename: path.posix.join(tls.clientCertDir, 'tls.crt') }, private_key: { filename: path.posix.join(tls.clientCertDir, 'tls.key') } }] }
          : {}),
      },
    }),
  };
}

class BootstrapBuild {
  readonly listeners: Array<Record<string, unknown>> = [];
  readonly clusters = new Map<string, Record<string, unknown>>();
  readonly comment: string[] = [];
  readonly gatewayCache: DnsCacheSettings;

  constructor(readonly ctx: GatewayContext) {
    const family = GATEWAY_FAMILY_TO_EG[ctx.gateway.spec.dns.lookupFamily];
    // Every user of a cache name must carry an identical config, so it is built once here.
    this.gatewayCache = { name: `${ctx.objectName}-dns`, envoyLookupFamily: EG_FAMILY_TO_ENVOY[family] };
  }

  private captureHost(): string {
    // Without Kubernetes the capture service is reached by its name (DNS, /etc/hosts or a compose service).
    return this.ctx.options.captureService.name;
  }

  private proxyProtocolFilter(required: boolean): Record<string, unknown> {
    return {
      name: 'envoy.filters.listener.proxy_protocol',
      typed_config: typed('envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol', {
        rules: proxyProtocolRules(),
        ...(required ? {} : { allow_requests_without_proxy_protocol: true }),
      }),
    };
  }

  private tlsInspector(): Record<string, unknown> {
    return { name: 'envoy.filters.listener.tls_inspector', typed_config: typed('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') };
  }

  private dfpCluster(name: string, cache: DnsCacheSettings, tls: boolean): string {
    if (this.clusters.has(name)) return name;
    const cluster: Record<string, unknown> = {
      name,
      connect_timeout: `${CONNECT_TIMEOUT_SECONDS}s`,
      lb_policy: 'CLUSTER_PROVIDED',
      cluster_type: {
        name: 'envoy.clusters.dynamic_forward_proxy',
        typed_config: typed('envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig', { dns_cache_config: dnsCacheConfig(cache) }),
      },
      circuit_breakers: {
        thresholds: [{ max_connections: EGRESS_MAX_PARALLEL_REQUESTS, max_pending_requests: EGRESS_MAX_PARALLEL_REQUESTS, max_requests: EGRESS_MAX_PARALLEL_REQUESTS }],
      },
    };
    if (tls) {
      cluster.transport_socket = {
        name: 'envoy.transport_sockets.tls',
        typed_config: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
          common_tls_context: { validation_context: { trusted_ca: { filename: SYSTEM_BUNDLE } } },
        }),
      };
      cluster.typed_extension_protocol_options = {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
          upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true },
          auto_config: { http_protocol_options: {}, http2_protocol_options: {} },
        }),
      };
    }
    this.clusters.set(name, cluster);
    return name;
  }

  private extProcFilter(): Record<string, unknown> {
    const ctx = this.ctx;
    if (!this.clusters.has('capture')) {
      const cluster = grpcCluster('capture', this.captureHost(), ctx.options.captureService.port);
      // As many streams per connection as the service takes, then another connection; that many streams in all.
      cluster.typed_extension_protocol_options = http2Options({ max_concurrent_streams: EXT_PROC_STREAMS_PER_CONNECTION });
      cluster.circuit_breakers = { thresholds: [{ max_requests: CAPTURE_MAX_PARALLEL_STREAMS, max_pending_requests: CAPTURE_MAX_PARALLEL_STREAMS }] };
      if (ctx.options.captureTls !== undefined) cluster.transport_socket = captureTransportSocket(ctx.options);
      this.clusters.set('capture', cluster);
    }
    return {
      name: 'envoy.filters.http.ext_proc',
      typed_config: typed('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', {
        grpc_service: {
          envoy_grpc: { cluster_name: 'capture' },
          timeout: `${CAPTURE_GRPC_TIMEOUT_SECONDS}s`,
          initial_metadata: [{ key: GATEWAY_METADATA_HEADER, value: `${ctx.namespace}/${ctx.gateway.metadata.name}` }],
        },
        // Send and go: capture never delays, blocks or changes traffic.
        observability_mode: true,
        // Lets the service ask for fewer bodies (the capture policy's lighter levels) if the filter is ever run acknowledged.
        allow_mode_override: true,
        deferred_close_timeout: `${DEFERRED_CLOSE_SECONDS}s`,
        failure_mode_allow: true,
        processing_mode: {
          request_header_mode: 'SEND',
          response_header_mode: 'SEND',
          request_body_mode: 'STREAMED',
          response_body_mode: 'STREAMED',
          request_trailer_mode: 'SKIP',
          response_trailer_mode: 'SKIP',
        },
        request_attributes: [...CAPTURE_ATTRIBUTES],
        metadata_options: { forwarding_namespaces: { untyped: [WORKLOAD_METADATA_NAMESPACE] } },
      }),
    };
  }

  private httpManager(plan: ListenerPlan, cluster: string | undefined): Record<string, unknown> {
    const ctx = this.ctx;
    const timeout = formatProtoDuration(ctx.gateway.spec.requestTimeoutMs);
    const capture = ctx.gateway.spec.otlp.captureBody;
    const routeMetadata = {
      filter_metadata: {
        'egress-capture': {
          gateway: `${ctx.namespace}/${ctx.gateway.metadata.name}`,
          listener: plan.listener.name,
          max_bytes: String(capture.maxBytes),
          content_types: capture.includeContentTypes.join(','),
        },
      },
    };
    const routes: Array<Record<string, unknown>> = [];
    const filters: Array<Record<string, unknown>> = [];
    if (cluster) {
      if (plan.shape === 'http') {
        routes.push({
          match: { connect_matcher: {} },
          // A tunnel is one long request; it is bounded by the stream idle timeout instead.
          route: { cluster, timeout: '0s', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
          typed_per_filter_config: {
            // Tunnelled bytes are opaque TLS: nothing to capture.
            'envoy.filters.http.ext_proc': typed('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', { disabled: true }),
          },
        });
      }
      // Exchanges the capture policy keeps nothing of, where Envoy can tell them apart itself.
      for (const rule of policyRoutes(ctx.options.capturePolicy?.policy).envoySide) {
        routes.push({
          name: `capture-none-${rule.name}`,
          match: rule.match,
          route: { cluster, timeout },
          metadata: routeMetadata,
          typed_per_filter_config: { 'envoy.filters.http.ext_proc': typed('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', { disabled: true }) },
        });
      }
      routes.push({ match: { prefix: '/' }, route: { cluster, timeout }, metadata: routeMetadata });
      filters.push(this.extProcFilter(), {
        name: 'envoy.filters.http.dynamic_forward_proxy',
        typed_config: typed('envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig', { dns_cache_config: dnsCacheConfig(this.gatewayCache) }),
      });
    } else {
      routes.push({ match: { prefix: '/' }, direct_response: { status: 403 } });
    }
    filters.push({ name: 'envoy.filters.http.router', typed_config: typed('envoy.extensions.filters.http.router.v3.Router') });
    const manager: Record<string, unknown> = {
      stat_prefix: `egress_${plan.listener.name}`,
      stream_idle_timeout: timeout,
      route_config: { name: plan.listener.name, virtual_hosts: [{ name: 'any', domains: ['*'], routes }] },
      http_filters: filters,
    };
    if (plan.shape === 'http') {
      // Absolute-form requests are accepted by default; CONNECT needs enabling for both HTTP versions.
      manager.http_protocol_options = {};
      manager.http2_protocol_options = { allow_connect: true };
      manager.upgrade_configs = [{ upgrade_type: 'CONNECT' }];
    }
    return {
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', manager),
    };
  }

  private tcpProxy(plan: ListenerPlan, cluster: string): Record<string, unknown> {
    return {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: typed('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', { stat_prefix: `egress_${plan.listener.name}`, cluster }),
    };
  }

  private sniForwardProxy(cache: DnsCacheSettings): Record<string, unknown> {
    return {
      name: 'envoy.filters.network.sni_dynamic_forward_proxy',
      typed_config: typed('envoy.extensions.filters.network.sni_dynamic_forward_proxy.v3.FilterConfig', {
        port_value: 443,
        dns_cache_config: dnsCacheConfig(cache),
      }),
    };
  }

  private backendCluster(backend: Backend, port: number): string {
    const name = `backend-${backend.metadata.name}-${port}`;
    if (this.clusters.has(name)) return name;
    const hasFqdn = backend.spec.endpoints.some((e) => e.fqdn);
    const cluster: Record<string, unknown> = {
      name,
      type: hasFqdn ? 'STRICT_DNS' : 'STATIC',
      connect_timeout: `${CONNECT_TIMEOUT_SECONDS}s`,
      ...(hasFqdn ? { dns_lookup_family: this.gatewayCache.envoyLookupFamily } : {}),
      load_assignment: {
        cluster_name: name,
        endpoints: [{ lb_endpoints: backend.spec.endpoints.map((e) => ({ endpoint: { address: socketAddress((e.fqdn ?? e.ip)!, port) } })) }],
      },
    };
    if (backend.spec.protocol === 'tls' || backend.spec.protocol === 'h2') {
      const sni = backend.spec.endpoints.find((e) => e.fqdn)?.fqdn;
      cluster.transport_socket = {
        name: 'envoy.transport_sockets.tls',
        typed_config: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
          ...(sni ? { sni } : {}),
          common_tls_context: {
            validation_context: { trusted_ca: { filename: SYSTEM_BUNDLE } },
            ...(backend.spec.protocol === 'h2' ? { alpn_protocols: ['h2'] } : {}),
          },
        }),
      };
    }
    if (backend.spec.protocol === 'h2c') cluster.typed_extension_protocol_options = http2Options();
    this.clusters.set(name, cluster);
    return name;
  }

  listener(plan: ListenerPlan): void {
    const ctx = this.ctx;
    const listener: Record<string, unknown> = { name: plan.listener.name, address: socketAddress('0.0.0.0', plan.port) };
    const listenerFilters: Array<Record<string, unknown>> = [];
    let chain: Record<string, unknown>;
    switch (plan.shape) {
      case 'http':
        listenerFilters.push(this.proxyProtocolFilter(false));
        chain = { filters: [this.httpManager(plan, plan.catchAll ? this.dfpCluster('dfp-plain', this.gatewayCache, false) : undefined)] };
        break;
      case 'https-terminate': {
        listenerFilters.push(this.proxyProtocolFilter(false), this.tlsInspector());
        if (!this.clusters.has('cert-minter')) {
          const minter = grpcCluster('cert-minter', this.captureHost(), CERT_SDS_PORT);
          const tls = ctx.options.certMinterTls;
          if (tls) minter.transport_socket = certMinterTransportSocket(tls, this.captureHost());
          this.clusters.set('cert-minter', minter);
        }
        const ca = plan.listener.tls!.caCertRef!;
        chain = {
          transport_socket_connect_timeout: `${TLS_HANDSHAKE_TIMEOUT_SECONDS}s`,
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: typed('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
              // Resumption would skip certificate selection.
              disable_stateless_session_resumption: true,
              disable_stateful_session_resumption: true,
              common_tls_context: {
                alpn_protocols: ['h2', 'http/1.1'],
                custom_tls_certificate_selector: onDemandSecretSelector(ctx, 'cert-minter', `${ca.namespace ?? ctx.namespace}/${ca.name}`),
              },
            }),
          },
          filters: [this.httpManager(plan, plan.catchAll ? this.dfpCluster('dfp-tls', this.gatewayCache, true) : undefined)],
        };
        break;
      }
      case 'tls-passthrough': {
        listenerFilters.push(this.proxyProtocolFilter(false), this.tlsInspector());
        if (plan.route) {
          const ref = plan.route.backends[0];
          const dynamic = ref.backend.spec.dynamicProxy?.dnsCacheConfig;
          if (dynamic) {
            const cache: DnsCacheSettings = {
              name: `${ctx.objectName}-${ref.backend.metadata.name}-dns`,
              envoyLookupFamily: EG_FAMILY_TO_ENVOY[BACKEND_FAMILY_TO_EG[dynamic.dnsLookupFamily]],
              refreshRateMs: dynamic.dnsRefreshRateMs,
              minRefreshRateMs: dynamic.dnsMinRefreshRateMs,
              queryTimeoutMs: dynamic.dnsQueryTimeoutMs,
              hostTtlMs: dynamic.hostTtlMs,
              maxHosts: dynamic.maxHosts,
            };
            const cluster = this.dfpCluster(`dfp-${ref.backend.metadata.name}`, cache, false);
            chain = { filters: [this.sniForwardProxy(cache), this.tcpProxy(plan, cluster)] };
          } else {
            chain = { filters: [this.tcpProxy(plan, this.backendCluster(ref.backend, ref.port))] };
          }
        } else if (plan.catchAll) {
          chain = { filters: [this.sniForwardProxy(this.gatewayCache), this.tcpProxy(plan, this.dfpCluster('dfp-plain', this.gatewayCache, false))] };
        } else {
          return; // deny-all and nothing attached: no listener, connections are refused
        }
        break;
      }
      case 'tcp': {
        if (plan.route) {
          listenerFilters.push(this.proxyProtocolFilter(false));
          const ref = plan.route.backends[0];
          chain = { filters: [this.tcpProxy(plan, this.backendCluster(ref.backend, ref.port))] };
          if (plan.route.backends.length > 1) {
            this.comment.push(ctx.note(`listener ${plan.listener.name}: only the first backendRef is used by the standalone bootstrap (no weighted clusters)`));
          }
        } else if (plan.catchAll) {
          // The PROXY header carries the original destination, so it is required here.
          listenerFilters.push(this.proxyProtocolFilter(true));
          if (!this.clusters.has('original-dst')) {
            this.clusters.set('original-dst', { name: 'original-dst', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: `${CONNECT_TIMEOUT_SECONDS}s` });
          }
          chain = { filters: [this.tcpProxy(plan, 'original-dst')] };
        } else {
          return;
        }
        break;
      }
      case 'udp': {
        if (!plan.route) return;
        const ref = plan.route.backends[0];
        const cluster = this.backendCluster(ref.backend, ref.port);
        listener.address = socketAddress('0.0.0.0', plan.port, 'UDP');
        listener.listener_filters = [
          {
            name: 'envoy.filters.udp_listener.udp_proxy',
            typed_config: typed('envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig', { stat_prefix: `egress_${plan.listener.name}`, cluster }),
          },
        ];
        this.listeners.push(listener);
        return;
      }
    }
    if (listenerFilters.length > 0) listener.listener_filters = listenerFilters;
    listener.filter_chains = [chain];
    this.listeners.push(listener);
  }
}

export function buildEnvoyBootstrap(plan: GatewayPlan, options: TranslateOptions, warnings: string[]): OutputObject<Record<string, unknown>> {
  const ctx = createGatewayContext(plan, options, warnings);
  const build = new BootstrapBuild(ctx);
  for (const listener of plan.listeners) build.listener(listener);
  const spec = ctx.gateway.spec;
  const comment = [
    `Standalone Envoy for EgressGateway ${ctx.namespace}/${ctx.gateway.metadata.name}; capture service at ${ctx.options.captureService.name}:${ctx.options.captureService.port}` +
      (plan.listeners.some((l) => l.shape === 'https-terminate') ? `, certificate minter at ${ctx.options.captureService.name}:${CERT_SDS_PORT}.` : '.'),
    ...build.comment,
  ];
  if (spec.upstreamTLS.hostAliases.length > 0) {
    comment.push(
      ctx.note(
        `upstreamTLS.hostAliases cannot be expressed in a bootstrap; add them to /etc/hosts of the Envoy host: ${spec.upstreamTLS.hostAliases.map((a) => `${a.ip} ${a.hostnames.join(' ')}`).join('; ')}`,
      ),
    );
  }
  if (spec.upstreamTLS.additionalTrustBundleSecretRef) {
    comment.push(ctx.note(`upstreamTLS.additionalTrustBundleSecretRef cannot be expressed in a bootstrap; append those CAs to ${SYSTEM_BUNDLE} on the Envoy host`));
  }
  return {
    object: {
      node: { id: ctx.objectName, cluster: 'egress-capture' },
      admin: { address: socketAddress('127.0.0.1', ADMIN_PORT) },
      static_resources: { listeners: build.listeners, clusters: [...build.clusters.values()] },
    },
    comment,
  };
}

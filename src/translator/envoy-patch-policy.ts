// EnvoyPatchPolicy: what Envoy Gateway's typed API cannot express, patched into the generated
// xDS. Resource names follow Envoy Gateway v1.9's default (pre-V2) name scheme:
// listener and filter chain "<ns>/<gateway>/<listener>", clusters "<kind>/<ns>/<route>/rule/<i>".
import { formatProtoDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { certMinterTransportSocket } from './cert-minter-tls';
import { CERT_SDS_PORT, TLS_HANDSHAKE_TIMEOUT_SECONDS } from './options';
import { ANY_SNI_PLACEHOLDER } from './layer4-route';
import { xdsListenerName } from './naming';
import { ENVOY_GATEWAY_VERSION, GATEWAY_API, output, OutputObject } from './output-object';
import { proxyProtocolRules } from './workload-identity';
import { GATEWAY_METADATA_HEADER } from '../capture/gateway-identity';
import { CA_SECRET_METADATA, NO_SNI_NAME } from '../certificates/minter-contract';

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

export type JsonPatch = Record<string, unknown>;

export function buildPatchPolicy(ctx: GatewayContext, name: string, jsonPatches: JsonPatch[], comment: string[]): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'EnvoyPatchPolicy',
      metadata: { name, namespace: ctx.namespace },
      spec: {
        type: 'JSONPatch',
        targetRef: { group: GATEWAY_API, kind: 'Gateway', name: ctx.objectName },
        jsonPatches,
      },
    },
    ...comment,
  );
}

/** Copy PROXY v2 workload TLVs into connection metadata on one listener. */
export function workloadIdentityPatch(ctx: GatewayContext, listenerName: string): JsonPatch {
  return {
    type: LISTENER_TYPE,
    name: xdsListenerName(ctx.namespace, ctx.gateway.metadata.name, listenerName),
    operation: {
      op: 'add',
      jsonPath: "$.listener_filters[?(@.name=='envoy.filters.listener.proxy_protocol')].typed_config",
      path: 'rules',
      value: proxyProtocolRules(),
    },
  };
}

export function certSdsClusterName(ctx: GatewayContext): string {
  return ctx.child('cert-sds');
}

/** The SDS server that mints a leaf per SNI from the listener's CA. */
export function certSdsClusterPatch(ctx: GatewayContext): JsonPatch {
  const capture = ctx.options.captureService;
  const name = certSdsClusterName(ctx);
  const host = `${capture.name}.${capture.namespace}.svc.cluster.local`;
  const tls = ctx.options.certMinterTls;
  return {
    type: CLUSTER_TYPE,
    name,
    operation: {
      op: 'add',
      path: '',
      value: {
        name,
        type: 'STRICT_DNS',
        connect_timeout: '5s',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: CERT_SDS_PORT } } } }] }],
        },
        ...(tls ? { transport_socket: certMinterTransportSocket(tls, host) } : {}),
      },
    },
  };
}

/**
 * The certificate selector that asks the minter (an SDS server at cluster
 * `sdsCluster`) for a certificate per SNI, signed by the CA in `caSecret`
 * (`<namespace>/<name>`). Shared by the Envoy Gateway patch and the
 * standalone bootstrap.
 *
 * Only the fields Envoy 1.39 and 1.40 know: both reject the whole listener for
 * an unknown field, and `max_secrets` / `cache_idle_timeout` (a bound on the
 * per-SNI certificate cache) exist only in Envoy after 1.40. Until then the
 * cache is unbounded: each distinct SNI keeps its SDS subscription and
 * certificate until the minter withdraws the name or the listener drains.
 */
export function onDemandSecretSelector(ctx: GatewayContext, sdsCluster: string, caSecret: string): Record<string, unknown> {
  return {
    name: 'envoy.tls.certificate_selectors.on_demand_secret',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.cert_selectors.on_demand_secret.v3.Config',
      config_source: {
        resource_api_version: 'V3',
        api_config_source: {
          // Delta xDS lets the minter withdraw a single name.
          api_type: 'DELTA_GRPC',
          transport_api_version: 'V3',
          grpc_services: [
            {
              envoy_grpc: { cluster_name: sdsCluster },
              initial_metadata: [
                { key: GATEWAY_METADATA_HEADER, value: `${ctx.namespace}/${ctx.gateway.metadata.name}` },
                { key: CA_SECRET_METADATA, value: caSecret },
              ],
            },
          ],
        },
      },
      certificate_mapper: {
        name: 'envoy.tls.certificate_mappers.sni',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.cert_mappers.sni.v3.SNI',
          default_value: NO_SNI_NAME,
        },
      },
    },
  };
}

/** Per-SNI certificates on a terminating listener (on-demand SDS, Envoy >= 1.37). */
export function onDemandCertificatePatches(ctx: GatewayContext, listenerName: string, caSecret: string): JsonPatch[] {
  const xdsName = xdsListenerName(ctx.namespace, ctx.gateway.metadata.name, listenerName);
  const chain = `$.filter_chains[?(@.name=='${xdsName}')]`;
  return [
    {
      type: LISTENER_TYPE,
      name: xdsName,
      operation: {
        op: 'add',
        jsonPath: `${chain}.transport_socket.typed_config.common_tls_context`,
        path: 'custom_tls_certificate_selector',
        value: onDemandSecretSelector(ctx, certSdsClusterName(ctx), caSecret),
      },
    },
    {
      // The caCertRef is on the Gateway listener only because Gateway API requires a certificate
      // there; Envoy must not load the CA as the listener's own certificate. It would present the
      // CA where the selector has no leaf, and it rejects the whole listener when the CA's key
      // usage has no digitalSignature (an ECDSA CA made as CAs are: keyCertSign and cRLSign only).
      type: LISTENER_TYPE,
      name: xdsName,
      operation: { op: 'remove', jsonPath: `${chain}.transport_socket.typed_config.common_tls_context`, path: 'tls_certificate_sds_secret_configs' },
    },
    {
      // Without it a handshake waiting on an unreachable SDS server hangs forever.
      type: LISTENER_TYPE,
      name: xdsName,
      operation: { op: 'add', jsonPath: chain, path: 'transport_socket_connect_timeout', value: `${TLS_HANDSHAKE_TIMEOUT_SECONDS}s` },
    },
    ...sessionResumptionOffPatches(xdsName, `${chain}.transport_socket.typed_config`),
  ];
}

/**
 * Envoy's on_demand_secret selector requires session resumption off on its
 * listener: a resumed session skips certificate selection, so its SNI would
 * never be asked for (and the ticket keys would outlive a rotated CA). The
 * standalone bootstrap sets both fields itself; for Envoy Gateway they are
 * patched in explicitly rather than relying on its defaults.
 */
export function sessionResumptionOffPatches(xdsListenerName: string, tlsContextPath: string): JsonPatch[] {
  return (['disable_stateless_session_resumption', 'disable_stateful_session_resumption'] as const).map((field) => ({
    type: LISTENER_TYPE,
    name: xdsListenerName,
    operation: { op: 'add', jsonPath: tlsContextPath, path: field, value: true },
  }));
}

/** Send a TCP listener's traffic to the destination named in the PROXY header. */
export function originalDestinationPatches(ctx: GatewayContext, listenerName: string, clusterName: string, connectTimeoutSeconds: number): JsonPatch[] {
  return [
    {
      type: CLUSTER_TYPE,
      name: clusterName,
      operation: { op: 'add', path: '', value: { name: clusterName, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: `${connectTimeoutSeconds}s` } },
    },
    {
      type: LISTENER_TYPE,
      name: xdsListenerName(ctx.namespace, ctx.gateway.metadata.name, listenerName),
      operation: {
        op: 'replace',
        jsonPath: "$.filter_chains[*].filters[?(@.name=='envoy.filters.network.tcp_proxy')].typed_config",
        path: 'cluster',
        value: clusterName,
      },
    },
  ];
}

/**
 * Drop the placeholder SNI match so the translator's passthrough chain takes every server name.
 * Only that chain: a user's TLSRoute on the same listener keeps its own names, and Envoy
 * prefers a chain that names the server over the catch-all.
 */
export function anySniPatch(ctx: GatewayContext, listenerName: string): JsonPatch {
  return {
    type: LISTENER_TYPE,
    name: xdsListenerName(ctx.namespace, ctx.gateway.metadata.name, listenerName),
    operation: { op: 'remove', jsonPath: `$.filter_chains[?(@.filter_chain_match.server_names[0]=='${ANY_SNI_PLACEHOLDER}')].filter_chain_match`, path: 'server_names' },
  };
}

export interface DnsCacheSettings {
  name: string;
  envoyLookupFamily: string;
  refreshRateMs?: number;
  minRefreshRateMs?: number;
  queryTimeoutMs?: number;
  hostTtlMs?: number;
  maxHosts?: number;
}

/** Envoy DnsCacheConfig (snake_case) for the knobs Envoy Gateway does not expose. */
export function dnsCacheConfig(settings: DnsCacheSettings): Record<string, unknown> {
  const config: Record<string, unknown> = { name: settings.name, dns_lookup_family: settings.envoyLookupFamily };
  if (settings.refreshRateMs !== undefined) config.dns_refresh_rate = formatProtoDuration(settings.refreshRateMs);
  if (settings.minRefreshRateMs !== undefined) config.dns_min_refresh_rate = formatProtoDuration(settings.minRefreshRateMs);
  if (settings.hostTtlMs !== undefined) config.host_ttl = formatProtoDuration(settings.hostTtlMs);
  if (settings.maxHosts !== undefined) config.max_hosts = settings.maxHosts;
  if (settings.queryTimeoutMs !== undefined) config.dns_query_timeout = formatProtoDuration(settings.queryTimeoutMs);
  return config;
}

/**
 * Replace the DNS cache on a route's forward-proxy cluster and on the listener's SNI forward
 * proxy filter: every user of a cache name must carry an identical config.
 */
export function dnsCachePatches(ctx: GatewayContext, clusterName: string, listenerName: string, settings: DnsCacheSettings): JsonPatch[] {
  const value = dnsCacheConfig(settings);
  return [
    { type: CLUSTER_TYPE, name: clusterName, operation: { op: 'replace', path: '/cluster_type/typed_config/dns_cache_config', value } },
    {
      type: LISTENER_TYPE,
      name: xdsListenerName(ctx.namespace, ctx.gateway.metadata.name, listenerName),
      operation: {
        op: 'replace',
        jsonPath: "$.filter_chains[*].filters[?(@.name=='envoy.filters.network.sni_dynamic_forward_proxy')].typed_config",
        path: 'dns_cache_config',
        value,
      },
    },
  ];
}

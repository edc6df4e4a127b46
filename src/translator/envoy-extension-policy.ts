// EnvoyExtensionPolicy: sends HTTP and terminated-TLS traffic to the capture service over
// ext_proc in observability ("shadow") mode, so capture never delays or breaks a request.
import { CAPTURE_ATTRIBUTES } from './capture-attributes';
import { GatewayContext } from './gateway-context';
import { CAPTURE_MAX_PARALLEL_STREAMS, captureServerName } from './options';
import { ENVOY_GATEWAY, ENVOY_GATEWAY_VERSION, GATEWAY_API, output, OutputObject } from './output-object';
import { WORKLOAD_METADATA_NAMESPACE } from './workload-identity';

/** The Backend that carries TLS to the capture service (only with --capture-tls-*). */
function captureServiceBackendName(ctx: GatewayContext): string {
  return ctx.child('capture-service');
}

/** Where the policy sends ext_proc: the capture Service itself, or over TLS the Backend below. */
function captureBackendRef(ctx: GatewayContext): Record<string, unknown> {
  const capture = ctx.options.captureService;
  if (ctx.options.captureTls !== undefined) return { group: ENVOY_GATEWAY, kind: 'Backend', name: captureServiceBackendName(ctx) };
  return { group: '', kind: 'Service', name: capture.name, ...(capture.namespace !== ctx.namespace ? { namespace: capture.namespace } : {}), port: capture.port };
}

/**
 * TLS (and mTLS) to the capture service. A Backend rather than a
 * BackendTLSPolicy on the Service: the client certificate is then presented
 * to the capture service only (EnvoyProxy's backendTLS client certificate
 * would go to every TLS upstream the gateway reaches), and all of it lives in
 * the gateway's namespace beside the policy. The Service is reached by its
 * cluster DNS name; ALPN h2 because gRPC over TLS is negotiated that way.
 */
export function buildCaptureServiceBackend(ctx: GatewayContext): OutputObject {
  const capture = ctx.options.captureService;
  const tls = ctx.options.captureTls!;
  const serverName = captureServerName(ctx.options);
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'Backend',
      metadata: { name: captureServiceBackendName(ctx), namespace: ctx.namespace },
      spec: {
        type: 'Endpoints',
        endpoints: [{ fqdn: { hostname: `${capture.name}.${capture.namespace}.svc.cluster.local`, port: capture.port } }],
        tls: {
          caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: tls.caConfigMap! }],
          sni: serverName,
          alpnProtocols: ['h2'],
          ...(tls.clientSecret !== undefined ? { clientCertificateRef: { group: '', kind: 'Secret', name: tls.clientSecret } } : {}),
        },
      },
    },
    `Capture service over TLS: ${capture.namespace}/${capture.name}:${capture.port}, verified against ConfigMap ${tls.caConfigMap} (ca.crt)`,
    `as ${serverName}${tls.clientSecret !== undefined ? `, Envoy's client certificate from Secret ${tls.clientSecret} (mTLS)` : ''}.`,
  );
}

/**
 * Capture targets the Gateway's HTTP and TLS-terminating listeners rather than routes, so every
 * HTTP route on them is captured: the catch-alls, the user's own routes, and routes attached
 * later without the translator, whatever the defaultPolicy.
 */
export function buildCapturePolicy(ctx: GatewayContext, listenerNames: string[]): OutputObject {
  const capture = ctx.options.captureService;
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'EnvoyExtensionPolicy',
      metadata: { name: ctx.child('capture'), namespace: ctx.namespace },
      spec: {
        targetRefs: listenerNames.map((sectionName) => ({ group: GATEWAY_API, kind: 'Gateway', name: ctx.objectName, sectionName })),
        extProc: [
          {
            backendRefs: [captureBackendRef(ctx)],
            // One stream per exchange in flight: Envoy's default breaker (1,024) would leave the rest uncaptured.
            backendSettings: { circuitBreaker: { maxParallelRequests: CAPTURE_MAX_PARALLEL_STREAMS, maxPendingRequests: CAPTURE_MAX_PARALLEL_STREAMS } },
            processingMode: {
              request: { body: 'Streamed', attributes: [...CAPTURE_ATTRIBUTES] },
              response: { body: 'Streamed' },
              // The capture policy's lighter levels may ask for fewer bodies (honoured when not in shadow mode).
              allowModeOverride: true,
            },
            shadowMode: true,
            failOpen: true,
            metadata: { accessibleNamespaces: [WORKLOAD_METADATA_NAMESPACE] },
          },
        ],
      },
    },
    `Capture: ext_proc to Service ${capture.namespace}/${capture.name}:${capture.port}${ctx.options.captureTls !== undefined ? ' over TLS' : ''}, Streamed bodies, shadow mode`,
    '(send and go), fail open. The capture service truncates to captureBody.maxBytes and filters',
    `content types itself. Forwards the ${WORKLOAD_METADATA_NAMESPACE} metadata (caller identity from PROXY v2 TLVs).`,
  );
}

/**
 * CONNECT tunnels carry opaque TLS, so they are kept out of capture. Envoy Gateway applies a
 * route's own policy instead of its Gateway's: this one sends nothing (no headers, no bodies).
 */
export function buildCaptureOffPolicy(ctx: GatewayContext, routeNames: string[]): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'EnvoyExtensionPolicy',
      metadata: { name: ctx.child('capture-off'), namespace: ctx.namespace },
      spec: {
        targetRefs: routeNames.map((name) => ({ group: GATEWAY_API, kind: 'HTTPRoute', name })),
        extProc: [{ backendRefs: [captureBackendRef(ctx)], processingMode: {}, failOpen: true }],
      },
    },
    'No capture on CONNECT tunnels (opaque bytes): a route policy replaces the Gateway-wide capture policy,',
    'and this one asks ext_proc for no headers and no bodies.',
  );
}

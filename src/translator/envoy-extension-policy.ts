// EnvoyExtensionPolicy: sends HTTP and terminated-TLS traffic to the capture service over
// ext_proc in observability ("shadow") mode, so capture never delays or breaks a request.
import { CAPTURE_ATTRIBUTES } from './capture-attributes';
import { GatewayContext } from './gateway-context';
import { ENVOY_GATEWAY_VERSION, GATEWAY_API, output, OutputObject } from './output-object';
import { WORKLOAD_METADATA_NAMESPACE } from './workload-identity';

export function buildCapturePolicy(ctx: GatewayContext, routeNames: string[]): OutputObject {
  const capture = ctx.options.captureService;
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'EnvoyExtensionPolicy',
      metadata: { name: ctx.child('capture'), namespace: ctx.namespace },
      spec: {
        targetRefs: routeNames.map((name) => ({ group: GATEWAY_API, kind: 'HTTPRoute', name })),
        extProc: [
          {
            backendRefs: [
              {
                group: '',
                kind: 'Service',
                name: capture.name,
                ...(capture.namespace !== ctx.namespace ? { namespace: capture.namespace } : {}),
                port: capture.port,
              },
            ],
            processingMode: {
              request: { body: 'Streamed', attributes: [...CAPTURE_ATTRIBUTES] },
              response: { body: 'Streamed' },
            },
            shadowMode: true,
            failOpen: true,
            metadata: { accessibleNamespaces: [WORKLOAD_METADATA_NAMESPACE] },
          },
        ],
      },
    },
    `Capture: ext_proc to Service ${capture.namespace}/${capture.name}:${capture.port}, Streamed bodies, shadow mode`,
    '(send and go), fail open. The capture service truncates to captureBody.maxBytes and filters',
    `content types itself. Forwards the ${WORKLOAD_METADATA_NAMESPACE} metadata (caller identity from PROXY v2 TLVs).`,
  );
}

// GatewayClass: one per install, shared by every translated gateway.
import { GATEWAY_CLASS_NAME } from './naming';
import { GATEWAY_API, output, OutputObject } from './output-object';

export function buildGatewayClass(): OutputObject {
  return output(
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'GatewayClass',
      metadata: { name: GATEWAY_CLASS_NAME },
      spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
    },
    'Shared by every translated gateway (cluster-scoped). Envoy Gateway must run with',
    'extensionApis.enableBackend: true and extensionApis.enableEnvoyPatchPolicy: true.',
  );
}

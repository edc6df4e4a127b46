// TCPRoute, UDPRoute and TLSRoute (Gateway API v1) share one shape: parentRef + backendRefs.
import { GatewayContext } from './gateway-context';
import { ListenerPlan } from './gateway-plan';
import { ENVOY_GATEWAY, GATEWAY_API, OutputObject, output } from './output-object';

/**
 * TLSRoute v1 requires at least one hostname. A listener-wide TLSRoute gets this placeholder and
 * the passthrough EnvoyPatchPolicy drops the SNI match so the chain takes every server name.
 */
export const ANY_SNI_PLACEHOLDER = 'any-sni.egress-capture.invalid';

export function buildLayer4Route(
  ctx: GatewayContext,
  plan: ListenerPlan,
  kind: 'TCPRoute' | 'UDPRoute' | 'TLSRoute',
  name: string,
  backends: Array<{ name: string; weight?: number }>,
  comment: string[],
): OutputObject {
  const spec: Record<string, unknown> = {
    parentRefs: [{ group: GATEWAY_API, kind: 'Gateway', name: ctx.objectName, sectionName: plan.listener.name }],
  };
  if (kind === 'TLSRoute') spec.hostnames = [ANY_SNI_PLACEHOLDER];
  spec.rules = [
    {
      backendRefs: backends.map((b) => ({ group: ENVOY_GATEWAY, kind: 'Backend', name: b.name, ...(b.weight !== undefined ? { weight: b.weight } : {}) })),
    },
  ];
  return output({ apiVersion: `${GATEWAY_API}/v1`, kind, metadata: { name, namespace: ctx.namespace }, spec }, ...comment);
}

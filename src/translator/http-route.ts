// HTTPRoutes behind allow-all: a catch-all per HTTP / TLS-terminating listener and a CONNECT
// route per plain HTTP listener.
import { formatGatewayDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { ListenerPlan } from './gateway-plan';
import { ENVOY_GATEWAY, GATEWAY_API, output, OutputObject } from './output-object';

/**
 * Route annotations with the gateway.envoyproxy.io/ prefix reach the xDS route metadata, which
 * the capture service receives through the xds.route_metadata attribute.
 */
export const CAPTURE_ANNOTATION_PREFIX = 'gateway.envoyproxy.io/egress-capture-';

export function catchAllRouteName(ctx: GatewayContext, plan: ListenerPlan): string {
  return ctx.child(plan.listener.name);
}

export function connectRouteName(ctx: GatewayContext, plan: ListenerPlan): string {
  return ctx.child(plan.listener.name, 'connect');
}

function parentRef(ctx: GatewayContext, plan: ListenerPlan): Record<string, unknown> {
  return { group: GATEWAY_API, kind: 'Gateway', name: ctx.objectName, sectionName: plan.listener.name };
}

export function buildCatchAllRoute(ctx: GatewayContext, plan: ListenerPlan, backendName: string): OutputObject {
  const timeout = formatGatewayDuration(ctx.gateway.spec.requestTimeoutMs);
  const capture = ctx.gateway.spec.otlp.captureBody;
  return output(
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'HTTPRoute',
      metadata: {
        name: catchAllRouteName(ctx, plan),
        namespace: ctx.namespace,
        annotations: {
          [`${CAPTURE_ANNOTATION_PREFIX}gateway`]: `${ctx.namespace}/${ctx.gateway.metadata.name}`,
          [`${CAPTURE_ANNOTATION_PREFIX}listener`]: plan.listener.name,
          [`${CAPTURE_ANNOTATION_PREFIX}max-bytes`]: String(capture.maxBytes),
          [`${CAPTURE_ANNOTATION_PREFIX}content-types`]: capture.includeContentTypes.join(','),
        },
      },
      spec: {
        parentRefs: [parentRef(ctx, plan)],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ group: ENVOY_GATEWAY, kind: 'Backend', name: backendName }],
            timeouts: { request: timeout, backendRequest: timeout },
          },
        ],
      },
    },
    `defaultPolicy allow-all on listener ${plan.listener.name}: every request goes where it asked, within requestTimeout.`,
  );
}

export function buildConnectRoute(ctx: GatewayContext, plan: ListenerPlan, backendName: string): OutputObject {
  return output(
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: connectRouteName(ctx, plan), namespace: ctx.namespace },
      spec: {
        parentRefs: [parentRef(ctx, plan)],
        rules: [{ matches: [{ method: 'CONNECT' }], backendRefs: [{ group: ENVOY_GATEWAY, kind: 'Backend', name: backendName }] }],
      },
    },
    `CONNECT tunnels on listener ${plan.listener.name}. A separate route because the CONNECT upgrade policy turns`,
    'every match of its route into a CONNECT matcher; no timeouts (a tunnel is one long request) and no',
    'capture (the tunnel carries opaque TLS).',
  );
}

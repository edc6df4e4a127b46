// Gateway: one Gateway API listener per EgressGateway listener.
import { GatewayContext } from './gateway-context';
import { ListenerPlan, ListenerShape } from './gateway-plan';
import { GATEWAY_CLASS_NAME, GATEWAY_LABEL } from './naming';
import { ENVOY_GATEWAY, GATEWAY_API, output, OutputObject } from './output-object';
import { admittedKinds } from './user-routes';

/** The route kind the translator generates for each listener shape. */
export const ROUTE_KIND: Record<ListenerShape, string> = {
  http: 'HTTPRoute',
  'https-terminate': 'HTTPRoute',
  'tls-passthrough': 'TLSRoute',
  tcp: 'TCPRoute',
  udp: 'UDPRoute',
};

const GATEWAY_PROTOCOL: Record<ListenerShape, string> = {
  http: 'HTTP',
  // HTTPS, not TLS: only an HTTP listener gets an HTTP connection manager, where ext_proc runs.
  'https-terminate': 'HTTPS',
  'tls-passthrough': 'TLS',
  tcp: 'TCP',
  udp: 'UDP',
};

function gatewayListener(ctx: GatewayContext, plan: ListenerPlan): Record<string, unknown> {
  const listener: Record<string, unknown> = { name: plan.listener.name, protocol: GATEWAY_PROTOCOL[plan.shape], port: plan.port };
  if (plan.shape === 'https-terminate') {
    const ca = plan.listener.tls!.caCertRef!;
    // Gateway API requires a certificate for Terminate. The CA Secret is a placeholder: the
    // mitm EnvoyPatchPolicy replaces certificate selection with per-SNI leaves. Without the
    // patch clients see the CA's own certificate and fail hostname checks (fails closed).
    listener.tls = {
      mode: 'Terminate',
      certificateRefs: [{ group: '', kind: 'Secret', name: ca.name, ...(ca.namespace && ca.namespace !== ctx.namespace ? { namespace: ca.namespace } : {}) }],
    };
  } else if (plan.shape === 'tls-passthrough') {
    listener.tls = { mode: 'Passthrough' };
  }
  // The input's allowedRoutes, so routes attached here directly are judged as the translator
  // judged the user's routes (a namespace selector is only enforced here, by Envoy Gateway).
  // The translator's own route kind is always admitted: its routes live next to the Gateway.
  const kinds = new Set<string>([ROUTE_KIND[plan.shape], ...admittedKinds(plan.listener)]);
  const namespaces = plan.listener.allowedRoutes?.namespaces;
  listener.allowedRoutes = {
    namespaces: { from: namespaces?.from ?? 'Same', ...(namespaces?.from === 'Selector' && namespaces.selector ? { selector: namespaces.selector } : {}) },
    kinds: [...kinds].map((kind) => ({ group: GATEWAY_API, kind })),
  };
  return listener;
}

export function buildGateway(ctx: GatewayContext): OutputObject {
  const comment = ctx.plan.comment ? [...ctx.plan.comment] : [`Listeners of EgressGateway ${ctx.namespace}/${ctx.gateway.metadata.name}.`];
  for (const plan of ctx.plan.listeners) {
    if (!plan.allPorts) continue;
    const how: Record<ListenerShape, string> = {
      http: 'clients send absolute-form requests or CONNECT, so the destination port comes from the request',
      'https-terminate': 'the destination port is taken as 443 unless the request authority names one',
      'tls-passthrough': "Envoy Gateway's SNI forward proxy always dials port 443",
      tcp: 'workers must send a PROXY protocol header carrying the original destination',
      udp: 'UDP has no way to carry the original destination; only routed traffic works',
    };
    comment.push(ctx.note(`listener ${plan.listener.name} has no port ("every port"); it listens on ${plan.port} and ${how[plan.shape]}`));
  }
  return output(
    {
      apiVersion: `${GATEWAY_API}/v1`,
      kind: 'Gateway',
      metadata: { name: ctx.objectName, namespace: ctx.namespace, labels: { [GATEWAY_LABEL]: ctx.gateway.metadata.name } },
      spec: {
        gatewayClassName: GATEWAY_CLASS_NAME,
        infrastructure: { parametersRef: { group: ENVOY_GATEWAY, kind: 'EnvoyProxy', name: ctx.objectName } },
        listeners: ctx.plan.listeners.map((plan) => gatewayListener(ctx, plan)),
      },
    },
    ...comment,
  );
}

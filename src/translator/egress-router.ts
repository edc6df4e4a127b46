// OpenShift EgressRouter -> the translator's own inputs. An EgressRouter is an L4 DNAT box:
// each redirect rule becomes a listener of a deny-all EgressGateway with a route to a Backend
// holding the destination IP, dialled on targetPort. Built as input documents and run
// through the same parsers, so defaults and checks are the EgressGateway's own; everything
// else the router says is either reported as not expressible in Envoy or as something the
// operator must provide (the macvlan pod networking belongs to the cluster network).
import { Backend, EgressGateway, EgressRouter, Problem, Sourced, TcpRoute, describeObject, parseBackend, parseEgressGateway, parseTcpRoute } from '../gateway';
import { StatusCondition, StatusEntry } from './status';

/** Marks the resources made from an EgressRouter, so their status is reported as the router's. */
export const FROM_EGRESS_ROUTER = 'egress-capture.dev/from-egressrouter';

export interface RouterTranslation {
  gateway?: Sourced<EgressGateway>;
  backends: Array<Sourced<Backend>>;
  routes: Array<Sourced<TcpRoute>>;
  /** Fields Envoy cannot honour, each naming the field; they are warnings and NOTE lines. */
  notExpressible: string[];
  /** What the cluster network has to provide instead of the router pod. */
  operatorProvides: string[];
  status: StatusEntry;
}

export function isFromEgressRouter(resource: { metadata: { annotations?: Record<string, string> } }): boolean {
  return resource.metadata.annotations?.[FROM_EGRESS_ROUTER] !== undefined;
}

function listenerName(protocol: string, port: number): string {
  return `${protocol.toLowerCase()}-${port}`;
}

export function translateEgressRouter(sourced: Sourced<EgressRouter>): RouterTranslation {
  const router = sourced.resource;
  const { name, namespace } = router.metadata;
  const origin = `${namespace}/${name}`;
  const annotations = { [FROM_EGRESS_ROUTER]: origin };
  const notExpressible: string[] = [];
  const operatorProvides: string[] = [];
  const listeners: Array<Record<string, unknown>> = [];
  const backends: Array<Sourced<Backend>> = [];
  const routes: Array<Sourced<TcpRoute>> = [];
  const problems: Problem[] = [];
  const taken = new Map<string, number>();

  router.spec.redirect.redirectRules.forEach((rule, i) => {
    const path = `spec.redirect.redirectRules[${i}]`;
    if (rule.protocol === 'SCTP') {
      notExpressible.push(`${path}: SCTP port ${rule.port} -> ${rule.destinationIP}:${rule.targetPort} is left out: Envoy has no SCTP listener`);
      return;
    }
    const listener = listenerName(rule.protocol, rule.port);
    const earlier = taken.get(listener);
    if (earlier !== undefined) {
      notExpressible.push(`${path}: ${rule.protocol} port ${rule.port} is already redirected by redirectRules[${earlier}]; this rule is left out`);
      return;
    }
    taken.set(listener, i);
    listeners.push({ name: listener, protocol: rule.protocol, port: rule.port });
    const backendName = `${namespace}-${name}-rule-${i}`;
    const backend = parseBackend(
      { apiVersion: 'core.apoxy.dev/v1alpha2', kind: 'Backend', metadata: { name: backendName, annotations }, spec: { protocol: '', endpoints: [{ ip: rule.destinationIP }] } },
      problems,
    );
    const route = parseTcpRoute(
      {
        apiVersion: 'gateway.apoxy.dev/v1alpha2',
        kind: 'TCPRoute',
        metadata: { name: `${name}-rule-${i}`, namespace, annotations },
        spec: {
          parentRefs: [{ group: 'clrk.apoxy.dev', kind: 'EgressGateway', name, sectionName: listener }],
          rules: [{ backendRefs: [{ name: backendName, port: rule.targetPort }] }],
        },
      },
      problems,
    );
    if (backend) backends.push({ resource: backend, source: sourced.source });
    if (route) routes.push({ resource: route, source: sourced.source });
  });

  const fallback = router.spec.redirect.fallbackIP;
  if (fallback !== undefined) {
    notExpressible.push(
      `spec.redirect.fallbackIP ${fallback}: Envoy listens on the redirected ports only, so connections to other ports are refused instead of going to ${fallback}; add a redirect rule for each port that should reach it`,
    );
  }
  router.spec.addresses.forEach((address, i) => {
    operatorProvides.push(
      `spec.addresses[${i}]: egress source address ${address.ip}${address.gateway ? ` with next hop ${address.gateway}` : ''} on the Envoy proxy pods (Envoy Gateway gives them cluster networking only)`,
    );
  });
  const macvlan = router.spec.networkInterface.macvlan;
  operatorProvides.push(
    `spec.networkInterface.macvlan: a macvlan interface (mode ${macvlan.mode}${macvlan.master ? `, master ${macvlan.master}` : ''}) for those pods, e.g. a NetworkAttachmentDefinition named in the EnvoyProxy pod annotations`,
  );
  operatorProvides.push(`client configuration: workloads that dialled Service ${origin} dial the Envoy Gateway Service of Gateway ${namespace}/egc-${name} instead, on the same ports`);

  let gateway: EgressGateway | undefined;
  if (listeners.length > 0) {
    gateway = parseEgressGateway(
      {
        apiVersion: 'clrk.apoxy.dev/v1alpha1',
        kind: 'EgressGateway',
        // The router's age decides a name clash with an EgressGateway, as for any two inputs.
        metadata: { name, namespace, annotations, ...(router.metadata.creationTimestamp ? { creationTimestamp: router.metadata.creationTimestamp } : {}) },
        spec: { defaultPolicy: 'deny-all', listeners },
      },
      problems,
    );
  }
  // The documents above are built from a router that passed its own schema; a problem here is a bug.
  if (problems.length > 0) throw new Error(`EgressRouter ${origin}: internal translation error: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);

  const translated = listeners.map((l) => `${l.protocol} ${l.port}`).join(', ');
  const conditions: StatusCondition[] = [
    gateway
      ? { type: 'Available', status: 'True', reason: 'Translated', message: `listeners ${translated} on Gateway ${namespace}/egc-${name}` }
      : { type: 'Available', status: 'False', reason: 'NoExpressibleRules', message: 'no TCP or UDP redirect rule: Envoy has nothing to listen on' },
    { type: 'Progressing', status: 'False', reason: 'TranslationComplete', message: 'nothing is pending in the translation; once applied, Envoy Gateway reports rollout on the Gateway' },
    notExpressible.length > 0
      ? { type: 'Degraded', status: 'True', reason: 'NotExpressibleInEnvoy', message: notExpressible.join('\n') }
      : { type: 'Degraded', status: 'False', reason: 'AllRulesTranslated', message: '' },
  ];
  const status: StatusEntry = {
    kind: 'EgressRouter',
    name: origin,
    state: gateway ? 'Accepted' : 'NotAccepted',
    reason: gateway ? 'Accepted' : 'NoExpressibleRules',
    message: `the operator provides: ${operatorProvides.join('; ')}`,
    conditions,
  };
  return { ...(gateway ? { gateway: { resource: gateway, source: sourced.source } } : {}), backends, routes, notExpressible, operatorProvides, status };
}

export function describeRouter(router: EgressRouter): string {
  return describeObject('EgressRouter', router.metadata);
}

// The user's own Gateway API routes parented on an EgressGateway listener: each parentRef is
// judged the way a Gateway API implementation would (sectionName and port must name a
// listener; the listener's protocol and allowedRoutes must admit the route's kind and
// namespace), and an admitted route is emitted re-parented onto the generated Gateway.
// Refusals are not input errors: like a controller, the translator leaves the route out and
// says why in the status (Gateway API reasons NoMatchingParent and NotAllowedByListeners).
import {
  DEFAULT_NAMESPACE,
  DocumentProblem,
  EgressGateway,
  EgressListener,
  GATEWAY_API_GROUP,
  Sourced,
  UserRoute,
  UserRouteKind,
  describeObject,
} from '../gateway';
import { ListenerShape, listenerShape } from './gateway-plan';
import { gatewayObjectName } from './naming';
import { output, OutputObject } from './output-object';
import { StatusEntry } from './status';

/** Route kinds a listener of each shape serves (Gateway API's protocol/kind compatibility). */
export const SHAPE_ROUTE_KINDS: Record<ListenerShape, readonly UserRouteKind[]> = {
  http: ['HTTPRoute', 'GRPCRoute'],
  'https-terminate': ['HTTPRoute', 'GRPCRoute'],
  'tls-passthrough': ['TLSRoute'],
  tcp: ['TCPRoute'],
  udp: ['UDPRoute'],
};

/** The kinds a listener admits: its shape's kinds, narrowed by allowedRoutes.kinds when given. */
export function admittedKinds(listener: EgressListener): UserRouteKind[] {
  const served = SHAPE_ROUTE_KINDS[listenerShape(listener)];
  const listed = listener.allowedRoutes?.kinds;
  if (!listed || listed.length === 0) return [...served];
  return served.filter((kind) => listed.some((k) => k.kind === kind && (k.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP));
}

export interface UserRouteResult {
  objects: OutputObject[];
  status: StatusEntry[];
  warnings: string[];
  problems: DocumentProblem[];
}

const routeNamespace = (route: UserRoute) => route.metadata.namespace ?? DEFAULT_NAMESPACE;

/** Why the listener refuses the route, or undefined when it admits it. */
function refusal(route: UserRoute, gateway: EgressGateway, listener: EgressListener): string | undefined {
  const kinds = admittedKinds(listener);
  if (!kinds.includes(route.kind)) {
    const shape = listener.tls ? `${listener.protocol}/${listener.tls.mode}` : listener.protocol;
    return `listener ${listener.name} (${shape}) admits ${kinds.length > 0 ? kinds.join(', ') : 'no user route kinds'}, not ${route.kind}`;
  }
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'Same' && routeNamespace(route) !== gateway.metadata.namespace) {
    return `listener ${listener.name} admits routes from namespace ${gateway.metadata.namespace} only (allowedRoutes.namespaces.from Same), route is in ${routeNamespace(route)}`;
  }
  return undefined;
}

export function resolveUserRoutes(gateways: Array<Sourced<EgressGateway>>, routes: Array<Sourced<UserRoute>>): UserRouteResult {
  const result: UserRouteResult = { objects: [], status: [], warnings: [], problems: [] };
  const byKey = new Map(gateways.map((g) => [`${g.resource.metadata.namespace}/${g.resource.metadata.name}`, g.resource]));
  const sorted = [...routes].sort((a, b) => `${routeNamespace(a.resource)}/${a.resource.metadata.name}`.localeCompare(`${routeNamespace(b.resource)}/${b.resource.metadata.name}`));
  for (const { resource: route, source } of sorted) {
    const namespace = routeNamespace(route);
    const name = `${namespace}/${route.metadata.name}`;
    const label = describeObject(route.kind, { ...route.metadata, namespace });
    const parentRefs: Array<Record<string, unknown>> = [];
    const entries: StatusEntry[] = [];
    const inputProblems: DocumentProblem[] = [];
    if (route.kind === 'TLSRoute' && !(Array.isArray(route.spec.hostnames) && route.spec.hostnames.length > 0)) {
      inputProblems.push({ source, resource: label, problem: { path: 'spec.hostnames', message: 'required: a TLSRoute (gateway.networking.k8s.io/v1) matches on at least one hostname' } });
    }
    route.parentRefs.forEach((parent, index) => {
      const path = `spec.parentRefs[${index}]`;
      if (parent.group !== 'clrk.apoxy.dev' || parent.kind !== 'EgressGateway') {
        // Some other parent (a Gateway of the cluster, a mesh Service): not ours to judge.
        parentRefs.push({ ...parent });
        return;
      }
      const gatewayKey = `${parent.namespace ?? namespace}/${parent.name}`;
      const gateway = byKey.get(gatewayKey);
      if (!gateway) {
        inputProblems.push({ source, resource: label, problem: { path: `${path}.name`, message: `EgressGateway ${gatewayKey} not found in the input` } });
        return;
      }
      const listeners = gateway.spec.listeners;
      let candidates = listeners;
      if (parent.sectionName !== undefined) candidates = candidates.filter((l) => l.name === parent.sectionName);
      if (parent.port !== undefined) candidates = candidates.filter((l) => l.port === parent.port);
      if (candidates.length === 0) {
        const wanted = [parent.sectionName !== undefined ? `sectionName ${JSON.stringify(parent.sectionName)}` : '', parent.port !== undefined ? `port ${parent.port}` : ''].filter(Boolean).join(' and ');
        const message = `${path}: ${wanted} names no listener of EgressGateway ${gatewayKey} (listeners: ${listeners.map((l) => `${l.name}${l.port !== undefined ? `:${l.port}` : ''}`).join(', ')})`;
        entries.push({ kind: route.kind, name, parent: gatewayKey, state: 'NotAccepted', reason: 'NoMatchingParent', message });
        return;
      }
      const admitted: EgressListener[] = [];
      const refused: string[] = [];
      for (const listener of candidates) {
        const why = refusal(route, gateway, listener);
        if (why) refused.push(why);
        else admitted.push(listener);
      }
      if (admitted.length === 0) {
        entries.push({ kind: route.kind, name, parent: gatewayKey, state: 'NotAccepted', reason: 'NotAllowedByListeners', message: `${path}: ${refused.join('; ')}` });
        return;
      }
      for (const listener of admitted) {
        const parentKey = `${gatewayKey}/${listener.name}`;
        let message = '';
        if (listener.allowedRoutes?.namespaces?.from === 'Selector') {
          message = 'allowedRoutes.namespaces.selector cannot be evaluated offline; the selector is copied onto the generated listener, where Envoy Gateway enforces it';
          result.warnings.push(`${route.kind} ${name} -> ${parentKey}: ${message}`);
        }
        entries.push({ kind: route.kind, name, parent: parentKey, state: 'Accepted', reason: 'Accepted', message });
        parentRefs.push({
          group: GATEWAY_API_GROUP,
          kind: 'Gateway',
          name: gatewayObjectName(gateway.metadata.name),
          ...(gateway.metadata.namespace !== namespace ? { namespace: gateway.metadata.namespace } : {}),
          sectionName: listener.name,
        });
      }
    });
    if (inputProblems.length > 0) {
      result.problems.push(...inputProblems);
      continue;
    }
    for (const entry of entries) {
      result.status.push(entry);
      if (entry.state !== 'Accepted') result.warnings.push(`${entry.kind} ${entry.name} -> ${entry.parent}: not accepted (${entry.reason}): ${entry.message}`);
    }
    if (!entries.some((e) => e.state === 'Accepted')) continue;
    const accepted = entries.filter((e) => e.state === 'Accepted').map((e) => e.parent!.split('/').slice(1).join('/'));
    result.objects.push(
      output(
        {
          // Gateway API v1.6 serves every one of these kinds at v1; the spec is the same.
          apiVersion: `${GATEWAY_API_GROUP}/v1`,
          kind: route.kind,
          metadata: {
            name: route.metadata.name,
            namespace,
            ...(route.metadata.labels ? { labels: route.metadata.labels } : {}),
            ...(route.metadata.annotations ? { annotations: route.metadata.annotations } : {}),
          },
          spec: { ...route.spec, parentRefs },
        },
        `Your ${route.kind} ${name} (${source.file} document ${source.document}), re-parented from EgressGateway listener(s) ${accepted.join(', ')}`,
        'onto the generated Gateway; the rest of its spec is unchanged.',
      ),
    );
  }
  return result;
}

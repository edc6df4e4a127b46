// The user's own Gateway API routes parented on an EgressGateway listener: each parentRef is
// judged the way a Gateway API implementation would (sectionName and port must name a
// listener; the listener's protocol and allowedRoutes must admit the route's kind and
// namespace), and an admitted route is emitted re-parented onto the generated Gateway.
// Refusals are not input errors: like a controller, the translator leaves the route out and
// says why in the status (Gateway API reasons NoMatchingParent and NotAllowedByListeners, and
// RouteConflict when a TCP or UDP listener, which carries one route, is already taken).
import { DEFAULT_NAMESPACE, DocumentProblem, EgressGateway, EgressListener, GATEWAY_API_GROUP, SourceRef, Sourced, UserRoute, UserRouteKind, describeObject } from '../gateway';
import { compareAge } from './conflicts';
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

/** A parent a route asked for and a listener admitted. */
interface AdmittedParent {
  gatewayKey: string;
  gateway: EgressGateway;
  listener: EgressListener;
}

/** One user route after its parentRefs were judged, before listener claims are settled. */
export interface JudgedUserRoute {
  route: UserRoute;
  source: SourceRef;
  namespace: string;
  /** Parents that are not EgressGateways, kept as written. */
  foreignParents: Array<Record<string, unknown>>;
  admitted: AdmittedParent[];
  /** NoMatchingParent / NotAllowedByListeners entries, and Selector warnings for admitted ones. */
  refused: StatusEntry[];
  selectorNotes: Map<AdmittedParent, string>;
}

export interface UserRouteJudgement {
  judged: JudgedUserRoute[];
  /** Input errors (exit 2): an EgressGateway not in the input, a TLSRoute without hostnames. */
  problems: DocumentProblem[];
}

export interface UserRouteResult {
  objects: OutputObject[];
  status: StatusEntry[];
  warnings: string[];
  /** "ns/gateway/listener" of the TCP and UDP listeners a user route holds. */
  held: Set<string>;
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

/** Judge every parentRef against the listeners it names (no listener claims yet). */
export function judgeUserRoutes(gateways: Array<Sourced<EgressGateway>>, routes: Array<Sourced<UserRoute>>): UserRouteJudgement {
  const result: UserRouteJudgement = { judged: [], problems: [] };
  const byKey = new Map(gateways.map((g) => [`${g.resource.metadata.namespace}/${g.resource.metadata.name}`, g.resource]));
  // Oldest first, then namespace/name: the order listener claims are settled in.
  const ordered = [...routes].sort((a, b) => compareAge({ ...a.resource.metadata, namespace: routeNamespace(a.resource) }, { ...b.resource.metadata, namespace: routeNamespace(b.resource) }));
  for (const { resource: route, source } of ordered) {
    const namespace = routeNamespace(route);
    const name = `${namespace}/${route.metadata.name}`;
    const label = describeObject(route.kind, { ...route.metadata, namespace });
    const judged: JudgedUserRoute = { route, source, namespace, foreignParents: [], admitted: [], refused: [], selectorNotes: new Map() };
    const before = result.problems.length;
    if (route.kind === 'TLSRoute' && !(Array.isArray(route.spec.hostnames) && route.spec.hostnames.length > 0)) {
      result.problems.push({ source, resource: label, problem: { path: 'spec.hostnames', message: 'required: a TLSRoute (gateway.networking.k8s.io/v1) matches on at least one hostname' } });
    }
    route.parentRefs.forEach((parent, index) => {
      const path = `spec.parentRefs[${index}]`;
      if (parent.group !== 'clrk.apoxy.dev' || parent.kind !== 'EgressGateway') {
        // Some other parent (a Gateway of the cluster, a mesh Service): not ours to judge.
        judged.foreignParents.push({ ...parent });
        return;
      }
      const gatewayKey = `${parent.namespace ?? namespace}/${parent.name}`;
      const gateway = byKey.get(gatewayKey);
      if (!gateway) {
        result.problems.push({ source, resource: label, problem: { path: `${path}.name`, message: `EgressGateway ${gatewayKey} not found in the input` } });
        return;
      }
      const listeners = gateway.spec.listeners;
      let candidates = listeners;
      if (parent.sectionName !== undefined) candidates = candidates.filter((l) => l.name === parent.sectionName);
      if (parent.port !== undefined) candidates = candidates.filter((l) => l.port === parent.port);
      if (candidates.length === 0) {
        const wanted = [parent.sectionName !== undefined ? `sectionName ${JSON.stringify(parent.sectionName)}` : '', parent.port !== undefined ? `port ${parent.port}` : '']
          .filter(Boolean)
          .join(' and ');
        const message = `${path}: ${wanted} names no listener of EgressGateway ${gatewayKey} (listeners: ${listeners.map((l) => `${l.name}${l.port !== undefined ? `:${l.port}` : ''}`).join(', ')})`;
        judged.refused.push({ kind: route.kind, name, parent: gatewayKey, state: 'NotAccepted', reason: 'NoMatchingParent', message });
        return;
      }
      const refused: string[] = [];
      let admittedHere = 0;
      for (const listener of candidates) {
        const why = refusal(route, gateway, listener);
        if (why) {
          refused.push(why);
          continue;
        }
        admittedHere += 1;
        const admitted = { gatewayKey, gateway, listener };
        judged.admitted.push(admitted);
        if (listener.allowedRoutes?.namespaces?.from === 'Selector') {
          judged.selectorNotes.set(admitted, 'allowedRoutes.namespaces.selector cannot be evaluated offline; the selector is copied onto the generated listener, where Envoy Gateway enforces it');
        }
      }
      if (admittedHere === 0) {
        judged.refused.push({ kind: route.kind, name, parent: gatewayKey, state: 'NotAccepted', reason: 'NotAllowedByListeners', message: `${path}: ${refused.join('; ')}` });
      }
    });
    if (result.problems.length === before) result.judged.push(judged);
  }
  return result;
}

/** Listener shapes that carry one route only: a TCP or UDP route has nothing to match on. */
const SINGLE_ROUTE: ReadonlySet<ListenerShape> = new Set(['tcp', 'udp']);

/**
 * Settle listener claims and emit the admitted routes re-parented onto the generated Gateway.
 * `claimedBy` says which translator-generated route already holds a single-route listener
 * ("ns/gateway/listener"); the first user route (oldest) takes a free one, later ones conflict.
 */
export function renderUserRoutes(judgement: UserRouteJudgement, claimedBy: (parentKey: string) => string | undefined): UserRouteResult {
  const result: UserRouteResult = { objects: [], status: [], warnings: [], held: new Set() };
  const userClaims = new Map<string, string>();
  for (const judged of judgement.judged) {
    const { route, source, namespace } = judged;
    const name = `${namespace}/${route.metadata.name}`;
    const entries: StatusEntry[] = [...judged.refused];
    const parentRefs = [...judged.foreignParents];
    const accepted: string[] = [];
    for (const admitted of judged.admitted) {
      const { gatewayKey, gateway, listener } = admitted;
      const parentKey = `${gatewayKey}/${listener.name}`;
      if (SINGLE_ROUTE.has(listenerShape(listener))) {
        const holder = claimedBy(parentKey) ?? userClaims.get(parentKey);
        if (holder !== undefined) {
          entries.push({ kind: route.kind, name, parent: parentKey, state: 'Conflicted', reason: 'RouteConflict', message: `listener ${listener.name} carries one route and ${holder} holds it` });
          continue;
        }
        userClaims.set(parentKey, `${route.kind} ${name}`);
        result.held.add(parentKey);
      }
      const note = judged.selectorNotes.get(admitted);
      if (note) result.warnings.push(`${route.kind} ${name} -> ${parentKey}: ${note}`);
      entries.push({ kind: route.kind, name, parent: parentKey, state: 'Accepted', reason: 'Accepted', message: note ?? '' });
      accepted.push(`${gateway.metadata.name}/${listener.name}`);
      parentRefs.push({
        group: GATEWAY_API_GROUP,
        kind: 'Gateway',
        name: gatewayObjectName(gateway.metadata.name),
        ...(gateway.metadata.namespace !== namespace ? { namespace: gateway.metadata.namespace } : {}),
        sectionName: listener.name,
      });
    }
    for (const entry of entries) {
      result.status.push(entry);
      if (entry.state !== 'Accepted')
        result.warnings.push(`${entry.kind} ${entry.name} -> ${entry.parent}: ${entry.state === 'Conflicted' ? 'conflicted' : 'not accepted'} (${entry.reason}): ${entry.message}`);
    }
    if (accepted.length === 0) continue;
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

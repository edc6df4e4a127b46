// The user's own Gateway API routes (gateway.networking.k8s.io HTTPRoute, GRPCRoute, TLSRoute,
// TCPRoute v1, UDPRoute) that name an EgressGateway listener as a parent. Only what the
// translator rewrites is checked here (metadata and parentRefs); the rest of the spec is the
// user's and goes out unchanged, for the API server to judge against the Gateway API CRDs.
import { anyValue, arr, obj, str, validDocument } from './field-schema';
import { OBJECT_META, PARENT_REFERENCE } from './common-schema';
import { Problem } from './problems';
import { ObjectMeta, ParentReference } from './types';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

export type UserRouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';

/** Versions Gateway API v1.6 serves for each kind (TCPRoute v1alpha2 stays the Apoxy-style TCPRoute). */
export const USER_ROUTE_VERSIONS: Record<UserRouteKind, readonly string[]> = {
  HTTPRoute: ['v1', 'v1beta1'],
  GRPCRoute: ['v1'],
  TLSRoute: ['v1', 'v1alpha3', 'v1alpha2'],
  TCPRoute: ['v1'],
  UDPRoute: ['v1', 'v1alpha2'],
};

export interface UserRoute {
  apiVersion: string;
  kind: UserRouteKind;
  metadata: ObjectMeta;
  /** parentRefs with Gateway API's defaults (group gateway.networking.k8s.io, kind Gateway) applied. */
  parentRefs: ParentReference[];
  /** The spec as written, parentRefs included. */
  spec: Record<string, unknown>;
}

/** Is this document one of the user route kinds (rather than an Apoxy TCPRoute or another kind)? */
export function isUserRouteDocument(apiVersion: string, kind: string): kind is UserRouteKind {
  const [group, version] = apiVersion.split('/');
  return group === GATEWAY_API_GROUP && Object.hasOwn(USER_ROUTE_VERSIONS, kind) && USER_ROUTE_VERSIONS[kind as UserRouteKind].includes(version ?? '');
}

const USER_ROUTE_SCHEMA = obj(
  {
    apiVersion: str(),
    kind: str(),
    metadata: OBJECT_META,
    spec: obj({ parentRefs: arr(PARENT_REFERENCE, 1, 32), hostnames: arr(str()), rules: arr(anyValue()), useDefaultGateways: str() }, ['parentRefs']),
    status: anyValue(),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

export function parseUserRoute(raw: unknown, problems: Problem[]): UserRoute | undefined {
  const doc = validDocument(raw, USER_ROUTE_SCHEMA, problems);
  if (!doc) return undefined;
  return {
    apiVersion: doc.apiVersion,
    kind: doc.kind,
    metadata: { ...doc.metadata },
    parentRefs: (doc.spec.parentRefs as any[]).map((p) => ({ ...p, group: p.group ?? GATEWAY_API_GROUP, kind: p.kind ?? 'Gateway' })),
    spec: { ...doc.spec },
  };
}

/** Does the route name an EgressGateway as one of its parents? Routes that do not are not ours. */
export function namesEgressGateway(route: UserRoute): boolean {
  return route.parentRefs.some((p) => p.group === 'clrk.apoxy.dev' && p.kind === 'EgressGateway');
}

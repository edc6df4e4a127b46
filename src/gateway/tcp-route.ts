// TCPRoute (gateway.apoxy.dev/v1alpha2): schema and defaults. The worked examples also spell
// it with Gateway API's own group (gateway.networking.k8s.io/v1alpha2); both are accepted.
import { arr, obj, str, validDocument } from './field-schema';
import { BACKEND_REF, OBJECT_META, PARENT_REFERENCE } from './common-schema';
import { Problem } from './problems';
import { TcpRoute } from './types';

export const TCP_ROUTE_API_VERSIONS = ['gateway.apoxy.dev/v1alpha2', 'gateway.networking.k8s.io/v1alpha2'] as const;

/** Defaults for references that leave group/kind out. */
export const DEFAULT_PARENT_GROUP = 'clrk.apoxy.dev';
export const DEFAULT_PARENT_KIND = 'EgressGateway';
export const DEFAULT_BACKEND_GROUP = 'core.apoxy.dev';
export const DEFAULT_BACKEND_KIND = 'Backend';

export const TCP_ROUTE_SCHEMA = obj(
  {
    apiVersion: str({ enum: TCP_ROUTE_API_VERSIONS }),
    kind: str({ enum: ['TCPRoute'] }),
    metadata: OBJECT_META,
    spec: obj(
      {
        parentRefs: arr(PARENT_REFERENCE, 1, 32),
        rules: arr(obj({ name: str({ minLength: 1, maxLength: 253 }), backendRefs: arr(BACKEND_REF, 1, 16) }, ['backendRefs']), 1, 16),
      },
      ['parentRefs', 'rules'],
    ),
    status: { type: 'any' },
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

/** Validate a parsed TCPRoute document; returns the typed resource when there are no problems. */
export function parseTcpRoute(raw: unknown, problems: Problem[]): TcpRoute | undefined {
  const doc = validDocument(raw, TCP_ROUTE_SCHEMA, problems);
  if (!doc) return undefined;
  return {
    apiVersion: doc.apiVersion,
    kind: 'TCPRoute',
    metadata: { ...doc.metadata },
    spec: {
      parentRefs: (doc.spec.parentRefs as any[]).map((p) => ({
        ...p,
        group: p.group ?? DEFAULT_PARENT_GROUP,
        kind: p.kind ?? DEFAULT_PARENT_KIND,
      })),
      rules: (doc.spec.rules as any[]).map((r) => ({
        ...(r.name ? { name: r.name } : {}),
        backendRefs: (r.backendRefs as any[]).map((b) => ({
          ...b,
          group: b.group ?? DEFAULT_BACKEND_GROUP,
          kind: b.kind ?? DEFAULT_BACKEND_KIND,
        })),
      })),
    },
  };
}

// OpenShift's EgressRouter (network.operator.openshift.io/v1): an L4 egress router that DNATs
// ports of a macvlan-attached pod to fixed destinations. Schema and defaults follow the
// published API reference; the translator maps it onto an Envoy Gateway (see
// src/translator/egress-router.ts).
import { anyValue, arr, int, obj, str, validDocument } from './field-schema';
import { OBJECT_META } from './common-schema';
import { Problem } from './problems';
import { ObjectMeta } from './types';

export const EGRESS_ROUTER_API_VERSION = 'network.operator.openshift.io/v1';

export type RedirectProtocol = 'TCP' | 'UDP' | 'SCTP';
export type MacvlanMode = 'Bridge' | 'Private' | 'VEPA' | 'Passthru';

export interface RedirectRule {
  destinationIP: string;
  port: number;
  protocol: RedirectProtocol;
  /** Defaulted to `port`. */
  targetPort: number;
}

export interface EgressRouter {
  apiVersion: typeof EGRESS_ROUTER_API_VERSION;
  kind: 'EgressRouter';
  metadata: ObjectMeta & { namespace: string };
  spec: {
    addresses: Array<{ ip: string; gateway?: string }>;
    mode: 'Redirect';
    networkInterface: { macvlan: { mode: MacvlanMode; master?: string } };
    redirect: { fallbackIP?: string; redirectRules: RedirectRule[] };
  };
}

/** An IP, optionally with a prefix length: addresses[].ip is configured on an interface. */
const IP_OR_CIDR = { regex: /^[0-9a-fA-F:.]+(\/[0-9]{1,3})?$/, describe: 'an IPv4 or IPv6 address, optionally with /prefix' };

const EGRESS_ROUTER_SCHEMA = obj(
  {
    apiVersion: str({ enum: [EGRESS_ROUTER_API_VERSION] }),
    kind: str({ enum: ['EgressRouter'] }),
    metadata: OBJECT_META,
    spec: obj(
      {
        addresses: arr(obj({ ip: str({ pattern: IP_OR_CIDR }), gateway: str({ format: 'ip' }) }, ['ip']), 1),
        mode: str({ enum: ['Redirect'] }),
        networkInterface: obj({ macvlan: obj({ mode: str({ enum: ['Bridge', 'Private', 'VEPA', 'Passthru'] }), master: str({ minLength: 1 }) }, ['mode']) }),
        redirect: obj({
          fallbackIP: str({ format: 'ip' }),
          redirectRules: arr(
            obj({ destinationIP: str({ format: 'ip' }), port: int(1, 65535), protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }), targetPort: int(1, 65535) }, ['destinationIP', 'port', 'protocol']),
          ),
        }),
      },
      ['addresses', 'mode', 'networkInterface'],
    ),
    status: anyValue(),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

export function parseEgressRouter(raw: unknown, problems: Problem[], defaultNamespace: string): EgressRouter | undefined {
  const doc = validDocument(raw, EGRESS_ROUTER_SCHEMA, problems);
  if (!doc) return undefined;
  const spec = doc.spec;
  return {
    apiVersion: EGRESS_ROUTER_API_VERSION,
    kind: 'EgressRouter',
    metadata: { ...doc.metadata, namespace: doc.metadata.namespace ?? defaultNamespace },
    spec: {
      addresses: (spec.addresses as any[]).map((a) => ({ ip: a.ip, ...(a.gateway !== undefined && a.gateway !== null ? { gateway: a.gateway } : {}) })),
      mode: 'Redirect',
      // The reference: "The default is macvlan", macvlan mode "The default mode is Bridge".
      networkInterface: { macvlan: { mode: spec.networkInterface.macvlan?.mode ?? 'Bridge', ...(spec.networkInterface.macvlan?.master ? { master: spec.networkInterface.macvlan.master } : {}) } },
      redirect: {
        ...(spec.redirect?.fallbackIP ? { fallbackIP: spec.redirect.fallbackIP } : {}),
        redirectRules: ((spec.redirect?.redirectRules ?? []) as any[]).map((r) => ({
          destinationIP: r.destinationIP,
          port: r.port,
          protocol: r.protocol,
          targetPort: r.targetPort ?? r.port,
        })),
      },
    },
  };
}

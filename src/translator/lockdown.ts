// --lockdown: NetworkPolicies that force workloads through the gateway (the Gateway API egress
// proposal asks operators to deny direct egress with network policy). In each locked namespace
// every pod may reach DNS and the gateway's Envoy pods, nothing else, so capture cannot be
// bypassed by dialling a destination directly.
//
// Why these selectors: a NetworkPolicy sees pod addresses after the Service is resolved, so the
// gateway is selected by the labels Envoy Gateway puts on its proxy pods, in whatever namespace
// they run, on every port (Envoy Gateway may map listener ports to other container ports).
// DNS is allowed on port 53 to pods of the cluster only (kube-dns, openshift-dns, ...), never to
// outside addresses, which would be a tunnel past the gateway. Envoy pods in a locked namespace
// are left out of the policy: they are the way out.
import { GatewayPlan } from './gateway-plan';
import { gatewayObjectName, GATEWAY_LABEL } from './naming';
import { output, OutputObject } from './output-object';

/** Labels Envoy Gateway sets on the proxy pods of a Gateway. */
export const OWNING_GATEWAY_NAME = 'gateway.envoyproxy.io/owning-gateway-name';
export const OWNING_GATEWAY_NAMESPACE = 'gateway.envoyproxy.io/owning-gateway-namespace';

const DNS_PORT = 53;

export interface LockdownOptions {
  /** Namespaces to lock; empty = the ones the gateways' allowedRoutes admit and can be named. */
  namespaces: string[];
}

function policyName(plan: GatewayPlan, namespace: string): string {
  const { name, namespace: gatewayNamespace } = plan.gateway.resource.metadata;
  return namespace === gatewayNamespace ? `${gatewayObjectName(name)}-lockdown` : `${gatewayObjectName(name)}-${gatewayNamespace}-lockdown`;
}

function buildPolicy(plan: GatewayPlan, namespace: string, why: string): OutputObject {
  const { name, namespace: gatewayNamespace } = plan.gateway.resource.metadata;
  return output(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: policyName(plan, namespace), namespace, labels: { [GATEWAY_LABEL]: name } },
      spec: {
        podSelector: { matchExpressions: [{ key: OWNING_GATEWAY_NAME, operator: 'DoesNotExist' }] },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: {}, podSelector: {} }],
            ports: [
              { protocol: 'UDP', port: DNS_PORT },
              { protocol: 'TCP', port: DNS_PORT },
            ],
          },
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { [OWNING_GATEWAY_NAME]: gatewayObjectName(name), [OWNING_GATEWAY_NAMESPACE]: gatewayNamespace } } }],
          },
        ],
      },
    },
    `Lockdown of namespace ${namespace} (${why}): its pods reach in-cluster DNS and the Envoy pods of`,
    `Gateway ${gatewayNamespace}/${gatewayObjectName(name)} only. NetworkPolicies add up: a namespace locked toward several gateways may use each.`,
  );
}

/** The policies, plus a warning for every listener whose admitted namespaces cannot be listed. */
export function buildLockdownPolicies(plans: GatewayPlan[], options: LockdownOptions, warnings: string[]): OutputObject[] {
  const objects: OutputObject[] = [];
  for (const plan of plans) {
    const gateway = plan.gateway.resource;
    const label = `EgressGateway ${gateway.metadata.namespace}/${gateway.metadata.name}`;
    const namespaces = new Map<string, string>();
    if (options.namespaces.length > 0) {
      for (const namespace of options.namespaces) namespaces.set(namespace, 'named with --lockdown-namespace');
    } else {
      for (const { listener } of plan.listeners) {
        const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
        if (from === 'Same') namespaces.set(gateway.metadata.namespace, 'the listeners admit routes from their own namespace');
        else {
          warnings.push(
            `${label}: listener ${listener.name} admits routes from ${from === 'All' ? 'every namespace' : 'namespaces matching a selector'}, which cannot be listed offline; name the namespaces to lock down with --lockdown-namespace`,
          );
        }
      }
    }
    for (const [namespace, why] of [...namespaces].sort(([a], [b]) => a.localeCompare(b))) objects.push(buildPolicy(plan, namespace, why));
  }
  return objects;
}

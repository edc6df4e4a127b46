// Names of generated objects. Everything generated for EgressGateway <name> starts with
// "egc-<name>" in the gateway's namespace, so an operator can find and prune it by prefix.

export const GATEWAY_CLASS_NAME = 'egress-capture';
export const GATEWAY_LABEL = 'egress-capture.dev/egressgateway';
const PREFIX = 'egc-';

/** Kubernetes object names are at most 253 characters; listener-derived parts stay short. */
function fit(name: string, max = 253): string {
  return name.length <= max ? name : name.slice(0, max).replace(/[-.]+$/, '');
}

export function gatewayObjectName(gatewayName: string): string {
  return fit(`${PREFIX}${gatewayName}`);
}

export function childName(gatewayName: string, ...parts: Array<string | number>): string {
  return fit([`${PREFIX}${gatewayName}`, ...parts].join('-'));
}

/** xDS listener / filter-chain name under Envoy Gateway's default (pre-V2) name scheme. */
export function xdsListenerName(namespace: string, gatewayName: string, listenerName: string): string {
  return `${namespace}/${gatewayObjectName(gatewayName)}/${listenerName}`;
}

/** xDS cluster name Envoy Gateway gives a route rule. L4 routes use rule index -1. */
export function xdsRouteClusterName(kind: 'httproute' | 'tcproute' | 'tlsroute' | 'udproute', namespace: string, route: string, rule: number): string {
  return `${kind}/${namespace}/${route}/rule/${rule}`;
}

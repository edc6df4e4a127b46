// BackendTrafficPolicy: DNS family, connect timeout and the CONNECT upgrade. A route takes one
// policy (they do not merge), so each route set with different settings gets its own policy.
import { formatGatewayDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { CONNECT_TIMEOUT_SECONDS } from './options';
import { ENVOY_GATEWAY_VERSION, GATEWAY_API, output, OutputObject } from './output-object';

export interface RouteTarget {
  kind: string;
  name: string;
}

export interface DnsSettings {
  lookupFamily: string;
  refreshRateMs?: number;
}

function targetRefs(targets: RouteTarget[]): Array<Record<string, unknown>> {
  return targets.map((t) => ({ group: GATEWAY_API, kind: t.kind, name: t.name }));
}

function dns(settings: DnsSettings): Record<string, unknown> {
  return {
    lookupFamily: settings.lookupFamily,
    ...(settings.refreshRateMs !== undefined ? { dnsRefreshRate: formatGatewayDuration(settings.refreshRateMs) } : {}),
  };
}

export function buildTrafficPolicy(ctx: GatewayContext, name: string, targets: RouteTarget[], settings: DnsSettings, comment: string[]): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'BackendTrafficPolicy',
      metadata: { name, namespace: ctx.namespace },
      spec: { targetRefs: targetRefs(targets), dns: dns(settings), timeout: { tcp: { connectTimeout: `${CONNECT_TIMEOUT_SECONDS}s` } } },
    },
    ...comment,
  );
}

export function buildConnectTrafficPolicy(ctx: GatewayContext, targets: RouteTarget[], settings: DnsSettings): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'BackendTrafficPolicy',
      metadata: { name: ctx.child('connect'), namespace: ctx.namespace },
      spec: {
        targetRefs: targetRefs(targets),
        dns: dns(settings),
        // terminate: Envoy ends the CONNECT and forwards the tunnel payload as raw TCP to host:port.
        httpUpgrade: [{ type: 'CONNECT', connect: { terminate: true } }],
      },
    },
    'CONNECT routes: repeats the DNS settings because two policies on one route do not merge.',
  );
}

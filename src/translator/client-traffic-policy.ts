// ClientTrafficPolicy: listener-side settings that keep the proxy transparent and accept the
// PROXY protocol header that carries the caller's identity (and, for TCP, its destination).
import { formatGatewayDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { ENVOY_GATEWAY_VERSION, GATEWAY_API, output, OutputObject } from './output-object';

export function buildClientTrafficPolicy(ctx: GatewayContext): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'ClientTrafficPolicy',
      metadata: { name: ctx.objectName, namespace: ctx.namespace },
      spec: {
        targetRefs: [{ group: GATEWAY_API, kind: 'Gateway', name: ctx.objectName }],
        // Optional: callers without a PROXY header still work, they are just anonymous.
        proxyProtocol: { optional: true },
        timeout: { http: { streamIdleTimeout: formatGatewayDuration(ctx.gateway.spec.requestTimeoutMs) } },
        headers: { withUnderscoresAction: 'Allow', requestID: 'Disable' },
        path: { disableMergeSlashes: true, escapedSlashesAction: 'KeepUnchanged' },
        clientIPDetection: { xForwardedFor: { numTrustedHops: 0, disableXForwardedForAppend: true } },
      },
    },
    'Transparency: allow underscore headers, leave paths as sent, add no x-request-id or',
    'X-Forwarded-For to third-party requests; idle streams (SSE) live as long as requestTimeout.',
  );
}

// The capture service's own configuration for a gateway: a ConfigMap holding the EgressGateway
// (read with --gateway / EGRESS_CAPTURE_GATEWAY) without credentials, and a Secret holding the
// OTLP headers as OTEL_EXPORTER_OTLP_HEADERS. Headers may be credentials, so they never appear
// in the ConfigMap or in route annotations.
import { stringify } from 'yaml';
import { formatGatewayDuration } from '../gateway';
import { GatewayContext } from './gateway-context';
import { output, OutputObject } from './output-object';

/** Key of the ConfigMap entry; deploy/ mounts it as /etc/egress-capture/gateway/gateway.yaml. */
export const GATEWAY_CONFIG_KEY = 'gateway.yaml';

export function captureConfigMapName(captureName: string): string {
  return `${captureName}-gateway`;
}

export function captureSecretName(captureName: string): string {
  return `${captureName}-otlp`;
}

/** OTEL_EXPORTER_OTLP_HEADERS format: comma-separated key=value, percent-encoded. */
export function encodeOtlpHeaders(headers: Record<string, string>): string {
  return Object.keys(headers)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(headers[key])}`)
    .join(',');
}

/** The EgressGateway as the capture service should read it: defaults spelled out, no headers. */
function gatewayWithoutSecrets(ctx: GatewayContext): Record<string, unknown> {
  const gw = ctx.gateway;
  const spec = gw.spec;
  return {
    apiVersion: gw.apiVersion,
    kind: gw.kind,
    metadata: { name: gw.metadata.name, namespace: gw.metadata.namespace },
    spec: {
      defaultPolicy: spec.defaultPolicy,
      listeners: spec.listeners,
      dns: spec.dns,
      otlp: { ...(spec.otlp.endpoint ? { endpoint: spec.otlp.endpoint } : {}), captureBody: spec.otlp.captureBody },
      requestTimeout: formatGatewayDuration(spec.requestTimeoutMs),
      ...(spec.upstreamTLS.additionalTrustBundleSecretRef || spec.upstreamTLS.hostAliases.length > 0
        ? {
            upstreamTLS: {
              ...(spec.upstreamTLS.additionalTrustBundleSecretRef ? { additionalTrustBundleSecretRef: spec.upstreamTLS.additionalTrustBundleSecretRef } : {}),
              ...(spec.upstreamTLS.hostAliases.length > 0 ? { hostAliases: spec.upstreamTLS.hostAliases } : {}),
            },
          }
        : {}),
    },
  };
}

export function buildCaptureConfig(ctx: GatewayContext, nameSuffix: string): OutputObject[] {
  const capture = ctx.options.captureService;
  const objects: OutputObject[] = [
    output(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: captureConfigMapName(capture.name) + nameSuffix, namespace: capture.namespace },
        data: { [GATEWAY_CONFIG_KEY]: stringify(gatewayWithoutSecrets(ctx), { lineWidth: 0 }) },
      },
      `Capture service settings for EgressGateway ${ctx.namespace}/${ctx.gateway.metadata.name} (mounted by deploy/ as its --gateway file).`,
    ),
  ];
  const headers = ctx.gateway.spec.otlp.headers;
  if (Object.keys(headers).length > 0) {
    objects.push(
      output(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: captureSecretName(capture.name) + nameSuffix, namespace: capture.namespace },
          type: 'Opaque',
          stringData: { OTEL_EXPORTER_OTLP_HEADERS: encodeOtlpHeaders(headers) },
        },
        'otlp.headers (credentials): read by the capture service from OTEL_EXPORTER_OTLP_HEADERS.',
      ),
    );
  }
  return objects;
}

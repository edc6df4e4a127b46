// The capture service's own configuration: a ConfigMap holding the EgressGateways it serves
// (read with --gateway / EGRESS_CAPTURE_GATEWAY) without credentials, and a Secret holding the
// OTLP headers as OTEL_EXPORTER_OTLP_HEADERS. Headers may be credentials, so they never appear
// in the ConfigMap or in route annotations.
//
// One pair per capture service, named after it (<service>-gateway, <service>-otlp), however
// many gateways send to it: that is the name its Deployment mounts (deploy/, the Helm chart),
// and one service applies one set of capture settings, so gateways sharing it must agree on
// spec.otlp (translate refuses otherwise; give each its own --capture-service instead).
import { stringify } from 'yaml';
import { DocumentProblem, EgressGateway, Sourced, formatGatewayDuration } from '../gateway';
import { sharedCaptureSettings } from '../gateway/capture-settings';
import { TranslateOptions } from './options';
import { output, OutputObject } from './output-object';
import { CAPTURE_POLICY_BESIDE_GATEWAY } from '../policy/policy-source';

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
function gatewayWithoutSecrets(gw: EgressGateway): Record<string, unknown> {
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

/** Gateways that cannot share the capture service with the first one (translate's input errors). */
export function captureSettingsProblems(gateways: Array<Sourced<EgressGateway>>, options: TranslateOptions): DocumentProblem[] {
  if (gateways.length < 2) return [];
  const first = gateways[0]!.resource;
  const capture = `${options.captureService.namespace}/${options.captureService.name}`;
  return gateways
    .filter((g) => sharedCaptureSettings(g.resource.spec) !== sharedCaptureSettings(first.spec))
    .map((g) => ({
      source: g.source,
      resource: `EgressGateway ${g.resource.metadata.namespace}/${g.resource.metadata.name}`,
      problem: {
        path: 'spec.otlp',
        message: `differs from EgressGateway ${first.metadata.namespace}/${first.metadata.name}'s, and both send to capture service ${capture}, which applies one endpoint, header set and captureBody; make them agree, or translate each with its own --capture-service`,
      },
    }));
}

export function buildCaptureConfig(gateways: EgressGateway[], options: TranslateOptions): OutputObject[] {
  const capture = options.captureService;
  const names = gateways.map((gw) => `${gw.metadata.namespace}/${gw.metadata.name}`).join(', ');
  const objects: OutputObject[] = [
    output(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: captureConfigMapName(capture.name), namespace: capture.namespace },
        data: {
          [GATEWAY_CONFIG_KEY]: gateways.map((gw) => stringify(gatewayWithoutSecrets(gw), { lineWidth: 0 })).join('---\n'),
          // Beside the gateway file, where `serve` finds it without a flag.
          ...(options.capturePolicy === undefined ? {} : { [CAPTURE_POLICY_BESIDE_GATEWAY]: options.capturePolicy.text }),
        },
      },
      `Capture service settings for EgressGateway ${names} (mounted by deploy/ and the Helm chart as the --gateway file${options.capturePolicy === undefined ? '' : ', with the capture policy beside it'}).`,
    ),
  ];
  // captureSettingsProblems has made sure every gateway has the same headers.
  const headers = gateways[0]!.spec.otlp.headers;
  if (Object.keys(headers).length > 0) {
    objects.push(
      output(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: captureSecretName(capture.name), namespace: capture.namespace },
          type: 'Opaque',
          stringData: { OTEL_EXPORTER_OTLP_HEADERS: encodeOtlpHeaders(headers) },
        },
        'otlp.headers (credentials): read by the capture service from OTEL_EXPORTER_OTLP_HEADERS.',
      ),
    );
  }
  return objects;
}

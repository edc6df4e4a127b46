// What the capture service needs from its EgressGateways: who they are (for labelling captured
// exchanges) and the capture / re-export settings with defaults applied. Several gateways may
// share one capture service (the translator writes them all into one file); one service
// applies one set of settings, so they must agree on it.
import { readFileSync } from 'node:fs';
import { GatewayInvalidError } from './gateway-invalid-error';
import { parseResourceDocuments } from './parse-documents';
import { formatProblem } from './problems';
import { describeError } from '../errors';

export interface GatewayCaptureSettings {
  gatewayName: string;
  gatewayNamespace: string;
  captureBody: { maxBytes: number; includeContentTypes: string[] };
  otlp: { endpoint: string; headers: Record<string, string> };
}

/** The part of a gateway one capture service applies to every exchange it records. */
export function sharedCaptureSettings(spec: { otlp: { endpoint: string; headers: Record<string, string>; captureBody: { maxBytes: number; includeContentTypes: readonly string[] } } }): string {
  const headers = Object.fromEntries(Object.entries(spec.otlp.headers).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ captureBody: spec.otlp.captureBody, endpoint: spec.otlp.endpoint, headers });
}

/**
 * Read a YAML file holding one or more EgressGateways (documents of other kinds are ignored),
 * validate them and return their capture settings. Throws GatewayInvalidError
 * (code CAP_ERR_GATEWAY_INVALID) listing every "path: message" problem, and when gateways in
 * one file disagree on spec.otlp (endpoint, headers, captureBody).
 *
 * With one gateway its name labels the OTLP resource; with several the name stays empty and
 * each row is labelled by the gateway Envoy names on its ext_proc call.
 */
export function loadGatewayCaptureSettings(filePath: string): GatewayCaptureSettings {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new GatewayInvalidError(filePath, [`cannot read file: ${describeError(error)}`]);
  }
  const parsed = parseResourceDocuments(text, filePath);
  // Problems in documents of other kinds do not concern the capture service.
  const relevant = parsed.problems.filter((p) => p.resource === 'document' || p.resource.startsWith('EgressGateway'));
  if (relevant.length > 0) {
    const multiple = new Set(relevant.map((p) => p.source.document)).size > 1;
    throw new GatewayInvalidError(
      filePath,
      relevant.map((p) => (multiple ? `document ${p.source.document}: ${formatProblem(p.problem)}` : formatProblem(p.problem))),
    );
  }
  if (parsed.gateways.length === 0) {
    throw new GatewayInvalidError(filePath, ['expected at least one EgressGateway (apiVersion clrk.apoxy.dev/v1alpha1), found none']);
  }
  const gateway = parsed.gateways[0].resource;
  const differing = parsed.gateways.filter((g) => sharedCaptureSettings(g.resource.spec) !== sharedCaptureSettings(gateway.spec));
  if (differing.length > 0) {
    const name = (g: { metadata: { namespace: string; name: string } }) => `${g.metadata.namespace}/${g.metadata.name}`;
    throw new GatewayInvalidError(
      filePath,
      differing.map(
        (g) => `EgressGateway ${name(g.resource)}: spec.otlp differs from EgressGateway ${name(gateway)}'s; gateways sharing one capture service must agree on the endpoint, headers and captureBody`,
      ),
    );
  }
  const single = parsed.gateways.length === 1;
  return {
    gatewayName: single ? gateway.metadata.name : '',
    gatewayNamespace: single ? gateway.metadata.namespace : '',
    captureBody: {
      maxBytes: gateway.spec.otlp.captureBody.maxBytes,
      includeContentTypes: [...gateway.spec.otlp.captureBody.includeContentTypes],
    },
    otlp: { endpoint: gateway.spec.otlp.endpoint, headers: { ...gateway.spec.otlp.headers } },
  };
}

// What the capture service needs from an EgressGateway: who it is (for labelling captured
// exchanges) and the capture / re-export settings with defaults applied.
import { readFileSync } from 'node:fs';
import { GatewayInvalidError } from './gateway-invalid-error';
import { parseResourceDocuments } from './parse-documents';
import { formatProblem } from './problems';

export interface GatewayCaptureSettings {
  gatewayName: string;
  gatewayNamespace: string;
  captureBody: { maxBytes: number; includeContentTypes: string[] };
  otlp: { endpoint: string; headers: Record<string, string> };
}

/**
 * Read a YAML file holding exactly one EgressGateway (documents of other kinds are ignored),
 * validate it and return its capture settings. Throws GatewayInvalidError
 * (code CAP_ERR_GATEWAY_INVALID) listing every "path: message" problem.
 */
export function loadGatewayCaptureSettings(filePath: string): GatewayCaptureSettings {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new GatewayInvalidError(filePath, [`cannot read file: ${(error as Error).message}`]);
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
  if (parsed.gateways.length !== 1) {
    throw new GatewayInvalidError(filePath, [
      `expected exactly one EgressGateway (apiVersion clrk.apoxy.dev/v1alpha1), found ${parsed.gateways.length}`,
    ]);
  }
  const gateway = parsed.gateways[0].resource;
  return {
    gatewayName: gateway.metadata.name,
    gatewayNamespace: gateway.metadata.namespace,
    captureBody: {
      maxBytes: gateway.spec.otlp.captureBody.maxBytes,
      includeContentTypes: [...gateway.spec.otlp.captureBody.includeContentTypes],
    },
    otlp: { endpoint: gateway.spec.otlp.endpoint, headers: { ...gateway.spec.otlp.headers } },
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CaptureError } from '../../src/errors';
import { formatDocumentProblem, GatewayInvalidError, loadGatewayCaptureSettings, parseResourceDocuments, resolveRouteReferences } from '../../src/gateway';

const GATEWAY = `
apiVersion: clrk.apoxy.dev/v1alpha1
kind: EgressGateway
metadata: {name: agents, namespace: sandbox}
spec:
  defaultPolicy: allow-all
  listeners:
  - {name: web, protocol: HTTP, port: 80}
  - name: secure
    protocol: TLS
    port: 443
    tls: {mode: Terminate, caCertRef: {name: ca}}
  - {name: raw, protocol: TCP, port: 5432}
`;

function problemsOf(text: string): string[] {
  return parseResourceDocuments(text, 'in.yaml').problems.map((p) => `${p.problem.path}: ${p.problem.message}`);
}

describe('EgressGateway schema', () => {
  it('applies the documented defaults', () => {
    const parsed = parseResourceDocuments(GATEWAY, 'in.yaml');
    expect(parsed.problems).toEqual([]);
    const spec = parsed.gateways[0].resource.spec;
    expect(spec.requestTimeoutMs).toBe(5 * 60 * 1000);
    expect(spec.dns.lookupFamily).toBe('V4Preferred');
    expect(spec.otlp.captureBody).toEqual({
      maxBytes: 65536,
      includeContentTypes: ['application/json', 'application/x-ndjson', 'text/event-stream', 'application/vnd.amazon.eventstream'],
    });
  });

  it('reports a bad enum with its path and the allowed values', () => {
    const problems = problemsOf(GATEWAY.replace('mode: Terminate', 'mode: Terminat'));
    expect(problems).toContain('spec.listeners[1].tls.mode: "Terminat" is not one of Passthrough, Terminate');
  });

  it('collects every problem: unknown field, bad duration, missing field, bad enum', () => {
    const text = GATEWAY.replace('defaultPolicy: allow-all', 'requestTimeout: 5 minutes\n  colour: blue').replace('protocol: HTTP,', 'protocol: QUIC,');
    const problems = problemsOf(text);
    expect(problems).toEqual(
      expect.arrayContaining([
        'spec.defaultPolicy: required field is missing',
        expect.stringMatching(/^spec\.colour: unknown field/),
        'spec.requestTimeout: "5 minutes" is not a valid duration (use e.g. 30s, 5m, 1h30m)',
        'spec.listeners[0].protocol: "QUIC" is not one of TCP, TLS, HTTP, HTTPS, UDP',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('enforces cross-field listener rules', () => {
    const text = GATEWAY.replace('tls: {mode: Terminate, caCertRef: {name: ca}}', 'tls: {mode: Terminate}').replace(
      '{name: raw, protocol: TCP, port: 5432}',
      '{name: web, protocol: TCP, port: 5432, tls: {mode: Passthrough}}',
    );
    expect(problemsOf(text)).toEqual([
      'spec.listeners[1].tls.caCertRef: required when tls.mode is Terminate',
      'spec.listeners[2].name: duplicate listener name "web" (also spec.listeners[0])',
      'spec.listeners[2].tls: not allowed when protocol is TCP',
    ]);
  });

  it('refuses __proto__, constructor and toString keys as unknown fields, naming each', () => {
    const text = GATEWAY.replace('defaultPolicy: allow-all', 'defaultPolicy: allow-all\n  __proto__: {polluted: true}\n  constructor: x\n  toString: y').replace(
      '{name: web, protocol: HTTP, port: 80}',
      '{name: web, protocol: HTTP, port: 80, constructor: 1}',
    );
    const problems = problemsOf(text);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.__proto__: unknown field \(known fields: /),
        expect.stringMatching(/^spec\.constructor: unknown field/),
        expect.stringMatching(/^spec\.toString: unknown field/),
        expect.stringMatching(/^spec\.listeners\[0\]\.constructor: unknown field/),
      ]),
    );
    expect(problems).toHaveLength(4);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('Backend and TCPRoute schema', () => {
  const BACKEND = `
apiVersion: core.apoxy.dev/v1alpha2
kind: Backend
metadata: {name: pg-db}
spec:
  protocol: ""
  endpoints: [{fqdn: db.internal.example.com}]
`;
  const ROUTE = `
apiVersion: gateway.apoxy.dev/v1alpha2
kind: TCPRoute
metadata: {name: pg, namespace: sandbox}
spec:
  parentRefs: [{name: agents, sectionName: raw}]
  rules: [{backendRefs: [{name: pg-db, port: 5432}]}]
`;

  it('defaults dynamicProxy lookup family and rejects bad durations', () => {
    const good = parseResourceDocuments(BACKEND.replace('endpoints:', 'dynamicProxy: {dnsCacheConfig: {}}\n  endpoints:'), 'b.yaml');
    expect(good.backends[0].resource.spec.dynamicProxy?.dnsCacheConfig.dnsLookupFamily).toBe('auto');
    const bad = problemsOf(BACKEND.replace('protocol: ""', 'protocol: h3\n  dynamicProxy: {dnsCacheConfig: {dnsMinRefreshRate: 500ms}}'));
    expect(bad).toEqual(['spec.protocol: "h3" is not one of "", tls, h2, h2c', 'spec.dynamicProxy.dnsCacheConfig.dnsMinRefreshRate: "500ms" is below the minimum of 1000ms']);
  });

  it('rejects a route whose sectionName names no listener', () => {
    const parsed = parseResourceDocuments([GATEWAY, BACKEND, ROUTE.replace('sectionName: raw', 'sectionName: rawx')].join('\n---\n'), 'all.yaml');
    expect(parsed.problems).toEqual([]);
    const { problems, attachments } = resolveRouteReferences(parsed.gateways, parsed.backends, parsed.routes);
    expect(attachments).toEqual([]);
    expect(problems.map(formatDocumentProblem)).toEqual([
      'all.yaml document 3 (TCPRoute sandbox/pg): spec.parentRefs[0].sectionName: "rawx" names no listener of EgressGateway sandbox/agents (listeners: web, secure, raw)',
    ]);
  });

  it('rejects a route on an HTTP listener and a missing Backend', () => {
    const parsed = parseResourceDocuments([GATEWAY, ROUTE.replace('sectionName: raw', 'sectionName: web')].join('\n---\n'), 'all.yaml');
    const { problems } = resolveRouteReferences(parsed.gateways, parsed.backends, parsed.routes);
    expect(problems.map((p) => `${p.problem.path}: ${p.problem.message}`)).toEqual([
      'spec.rules[0].backendRefs[0].name: Backend "pg-db" not found in the input',
      'spec.parentRefs[0].sectionName: listener "web" is HTTP; a TCPRoute attaches only to TCP, UDP or TLS Passthrough listeners',
    ]);
  });
});

describe('loadGatewayCaptureSettings', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-settings-'));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('returns the capture settings with defaults, ignoring other kinds', () => {
    const file = write(
      'ok.yaml',
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: sandbox}\n---\n${GATEWAY}  otlp:\n    endpoint: https://otel.example.com\n    headers: {authorization: Bearer x}\n    captureBody: {maxBytes: 1024}\n`,
    );
    expect(loadGatewayCaptureSettings(file)).toEqual({
      gatewayName: 'agents',
      gatewayNamespace: 'sandbox',
      captureBody: { maxBytes: 1024, includeContentTypes: ['application/json', 'application/x-ndjson', 'text/event-stream', 'application/vnd.amazon.eventstream'] },
      otlp: { endpoint: 'https://otel.example.com', headers: { authorization: 'Bearer x' } },
    });
  });

  it('throws CAP_ERR_GATEWAY_INVALID with every problem', () => {
    const file = write('bad.yaml', GATEWAY.replace('mode: Terminate', 'mode: Terminat').replace('port: 80', 'port: 0'));
    let caught: unknown;
    try {
      loadGatewayCaptureSettings(file);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GatewayInvalidError);
    const error = caught as GatewayInvalidError;
    expect(error).toBeInstanceOf(CaptureError);
    expect(error.code).toBe('CAP_ERR_GATEWAY_INVALID');
    expect(error.problems).toEqual(['spec.listeners[0].port: 0 is below the minimum of 1', 'spec.listeners[1].tls.mode: "Terminat" is not one of Passthrough, Terminate']);
  });

  it('throws when the file holds no EgressGateway or cannot be read', () => {
    const empty = write('empty.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect(() => loadGatewayCaptureSettings(empty)).toThrow(/expected at least one EgressGateway/);
    expect(() => loadGatewayCaptureSettings(path.join(dir, 'missing.yaml'))).toThrow(GatewayInvalidError);
  });
});

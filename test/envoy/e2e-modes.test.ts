/**
 * Every ext_proc processing mode through the real Envoy, with every client:
 * curl over HTTP/1.1 and HTTP/2, Node's fetch (undici) and node:http2. Each
 * exchange is checked from the outside: the client got what the upstream
 * sent, the upstream what the client sent, the row matches both, and Envoy's
 * ext_proc statistics show no failed stream, timeout or spurious message.
 */
import { CAPTURE_ATTRIBUTES } from '../../src/translator/capture-attributes';
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/translator/workload-identity';
import { describeEnvoy } from './describe-envoy';
import type { ListenerConfig } from './envoy-bootstrap';
import { startStack, type EnvoyStack } from './envoy-stack';
import { expectCleanExtProc, expectFaithfulTraffic, expectRowMatches, metricValue } from './e2e-checks';
import { curl, nodeFetch, nodeHttp2, type ClientRequest, type ClientResponse } from './http-clients';

/**
 * Envoy's 200 ms default message timeout is about latency, which the Envoy
 * bench measures and e2e-faults tests; here every mode must be faithful, and
 * when this suite shares the machine's two cores with others a scheduling
 * stall must not read as a capture failure (as in e2e-content).
 */
const MESSAGE_TIMEOUT_MS = 1000;

/** The listeners, one per configuration under test. */
const LISTENERS: ListenerConfig[] = [
  { name: 'streamed', extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } } },
  { name: 'buffered', extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } } },
  { name: 'buffered_partial', extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'BUFFERED_PARTIAL', responseBodyMode: 'BUFFERED_PARTIAL' } } },
  {
    name: 'full_duplex',
    extProc: {
      messageTimeoutMs: MESSAGE_TIMEOUT_MS,
      processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', responseBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' },
    },
  },
  {
    name: 'trailers_send',
    extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED', requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' } },
  },
  { name: 'mode_override', extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, allowModeOverride: true } },
  {
    name: 'body_without_waiting',
    extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, sendBodyWithoutWaitingForHeaderResponse: true },
  },
  { name: 'observability', extProc: { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, observabilityMode: true } },
  {
    // What the translator's EnvoyExtensionPolicy makes Envoy Gateway produce (shadow mode, fail open,
    // Streamed bodies, the capture attributes, the workload metadata namespace, EG's 10 s gRPC timeout).
    name: 'envoy_gateway',
    extProc: {
      processingMode: { requestHeaderMode: 'SEND', responseHeaderMode: 'SEND', requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' },
      observabilityMode: true,
      failureModeAllow: true,
      requestAttributes: [...CAPTURE_ATTRIBUTES],
      forwardingNamespaces: [WORKLOAD_METADATA_NAMESPACE],
      grpcTimeoutMs: 10_000,
    },
  },
  { name: 'headers_only', extProc: { messageTimeoutMs: MESSAGE_TIMEOUT_MS, processingMode: { requestBodyMode: 'NONE', responseBodyMode: 'NONE' } } },
];

type Client = 'curl-h1' | 'curl-h2' | 'fetch' | 'node-h2';
const CLIENTS: Client[] = ['curl-h1', 'curl-h2', 'fetch', 'node-h2'];

function send(client: Client, request: ClientRequest): Promise<ClientResponse> {
  switch (client) {
    case 'curl-h1':
      return curl(request);
    case 'curl-h2':
      return curl(request, { http2: true });
    case 'fetch':
      return nodeFetch(request);
    case 'node-h2':
      return nodeHttp2(request);
  }
}

const REQUEST_BODY = Buffer.from(JSON.stringify({ model: 'internal', input: 'ünïcödé ✓', list: Array.from({ length: 50 }, (_, i) => i) }));

describeEnvoy('processing modes × clients', (version, binary) => {
  let stack: EnvoyStack;
  beforeAll(async () => {
    stack = await startStack(binary, version, { listeners: LISTENERS });
  });
  afterAll(() => stack?.stop());

  const bodyModes = LISTENERS.filter((l) => l.name !== 'headers_only').map((l) => l.name);
  describe.each(bodyModes)('%s', (listener) => {
    test.each(CLIENTS)('POST JSON with %s: traffic untouched, row matches both sides', async (client) => {
      const testId = `modes-${version}-${listener}-${client}-post`;
      const request = { method: 'POST', path: `/echo?case=${testId}`, body: REQUEST_BODY, headers: { 'content-type': 'application/json' } };
      const response = await send(client, { port: stack.port(listener), testId, ...request });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      const authority = client === 'fetch' ? `127.0.0.1:${stack.port(listener)}` : 'upstream.test';
      await expectRowMatches(stack, testId, row, { method: 'POST', path: request.path, authority, requestBody: REQUEST_BODY });
      expect(row.ObservabilityMode).toBe(listener === 'observability' || listener === 'envoy_gateway');
    });

    test('GET with a chunked answer (curl HTTP/1.1)', async () => {
      const testId = `modes-${version}-${listener}-chunked`;
      const response = await curl({ port: stack.port(listener), testId, path: '/chunked' });
      await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: '/chunked' });
      await expectRowMatches(stack, testId, await stack.row(testId), { method: 'GET', path: '/chunked' });
    });

    test('Envoy reports no failed stream, timeout or spurious message', async () => {
      await expectCleanExtProc(stack, listener, CLIENTS.length + 1);
    });
  });

  test('headers only (body mode NONE): headers and status stored, bodies not sent to the service', async () => {
    const testId = `modes-${version}-headers-only`;
    const request = { method: 'POST', path: '/echo', body: REQUEST_BODY, headers: { 'content-type': 'application/json' } };
    const response = await curl({ port: stack.port('headers_only'), testId, ...request });
    await expectFaithfulTraffic(stack, testId, response, request);
    const row = await stack.row(testId);
    expect(row.Method).toBe('POST');
    expect(row.StatusCode).toBe(200);
    expect(row.RequestHeaders['content-length']).toBe(String(REQUEST_BODY.length));
    expect(row.RequestBodyCaptured).toBe(false);
    expect(row.ResponseBodyCaptured).toBe(false);
    expect(row.BodyModes).toBe('NONE/NONE');
    await expectCleanExtProc(stack, 'headers_only');
  });

  test('the service counted every exchange Envoy streamed to it', async () => {
    const started = (await Promise.all(LISTENERS.map((l) => stack.envoy.extProcStats(l.name)))).reduce((sum, s) => sum + (s.streams_started ?? 0), 0);
    const metrics = await stack.metricsText();
    expect(metricValue(metrics, 'egress_capture_exchanges_total')).toBe(started);
    expect(metricValue(metrics, 'egress_capture_exchanges_total', { outcome: 'complete' })).toBe(started);
  });
});

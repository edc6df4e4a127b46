/**
 * What users send through the gateway, through the real Envoy in STREAMED
 * mode: model API streams (OpenAI Chat Completions and Responses, Anthropic
 * Messages) folded into text, tool calls and usage; gzip, br and zstd
 * answers; 10 MiB up and down (head + tail kept, sizes and hashes whole);
 * HTTP/2 with trailers and a gRPC upstream; a slow stream; HEAD, 204 and 304;
 * redaction; Envoy's request attributes and forwarded metadata; and ext_proc
 * over a Unix domain socket.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/translator/workload-identity';
import { describeEnvoy } from './describe-envoy';
import type { ListenerConfig } from './envoy-bootstrap';
import { startStack, type EnvoyStack } from './envoy-stack';
import { expectCleanExtProc, expectFaithfulTraffic, expectRowMatches, sha256 } from './e2e-checks';
import { curl, nodeHttp2 } from './http-clients';
import { GENAI_FIXTURES, jsonAnswer } from './upstream-server';

const STREAMED = { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED', responseTrailerMode: 'SEND' } as const;
/**
 * Envoy's 200 ms default is kept in e2e-modes; here 10 MiB bodies pass while a
 * second test file, curl, Envoy and the upstream share the machine's two
 * cores, and a scheduling stall must not read as a capture failure.
 */
const MESSAGE_TIMEOUT_MS = 1000;
const LISTENERS: ListenerConfig[] = [
  { name: 'streamed', extProc: { processingMode: STREAMED, messageTimeoutMs: MESSAGE_TIMEOUT_MS, requestAttributes: ['request.id', 'source.address', 'request.time'] } },
  { name: 'h2_upstream', upstream: 'upstream_h2', extProc: { processingMode: STREAMED, messageTimeoutMs: MESSAGE_TIMEOUT_MS } },
  {
    name: 'workload',
    extProc: { processingMode: STREAMED, messageTimeoutMs: MESSAGE_TIMEOUT_MS, forwardingNamespaces: [WORKLOAD_METADATA_NAMESPACE] },
    dynamicMetadata: { [WORKLOAD_METADATA_NAMESPACE]: { name: 'billing-api', namespace: 'payments' }, 'not.forwarded': { secret: 'x' } },
  },
];
const MAX_BYTES = 65536;
const TEN_MIB = 10 * 1024 * 1024;

const HEALTH_PROTO = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
type HealthClient = grpc.Client & {
  check(request: { service: string }, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, response?: { status: string }) => void): void;
};

function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(GENAI_FIXTURES, `${name}.sse`));
}

/** The folded answer text of an OpenAI chat stream, read straight from its events. */
function openAiChatText(stream: Buffer): string {
  return stream
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }> })
    .map((event) => event.choices[0]?.delta?.content ?? '')
    .join('');
}

describeEnvoy('content through Envoy', (version, binary) => {
  let stack: EnvoyStack;
  beforeAll(async () => {
    stack = await startStack(binary, version, { listeners: LISTENERS });
  });
  afterAll(() => stack?.stop());
  const id = (name: string): string => `content-${version}-${name}`;

  describe('model API streams', () => {
    const chatRequest = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello in French' }] }));

    test('OpenAI Chat Completions SSE: text, finish reason and usage folded', async () => {
      const testId = id('openai-chat');
      const request = { method: 'POST', path: '/v1/chat/completions', body: chatRequest, headers: { 'content-type': 'application/json', 'x-upstream-fixture': 'openai-chat-stream' } };
      const response = await curl({ port: stack.port('streamed'), testId, authority: 'api.openai.com', ...request });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      await expectRowMatches(stack, testId, row, { method: 'POST', path: request.path, authority: 'api.openai.com', requestBody: chatRequest });
      expect(row).toMatchObject({
        GenAiProvider: 'openai',
        GenAiOperation: 'chat',
        GenAiStreaming: true,
        GenAiRequestModel: 'gpt-4o-mini',
        GenAiResponseModel: 'gpt-4o-mini-2024-07-18',
        GenAiFinishReasons: ['stop'],
        GenAiUsageSource: 'provider',
        GenAiComplete: true,
      });
      expect(Number(row.GenAiInputTokens)).toBe(1187);
      expect(Number(row.GenAiOutputTokens)).toBe(14);
      expect(Number(row.GenAiCachedInputTokens)).toBe(1024);
      expect(row.GenAiOutputText).toBe(openAiChatText(fixture('openai-chat-stream')));
      expect(row.GenAiOutputText.length).toBeGreaterThan(10);
    });

    test('OpenAI Responses SSE: text, tool call and usage folded', async () => {
      const testId = id('openai-responses');
      const body = Buffer.from(JSON.stringify({ model: 'gpt-4.1', stream: true, input: 'Find the orders of customer C-1042' }));
      const request = { method: 'POST', path: '/v1/responses', body, headers: { 'content-type': 'application/json', 'x-upstream-fixture': 'openai-responses-stream' } };
      const response = await curl({ port: stack.port('streamed'), testId, authority: 'api.openai.com', ...request }, { http2: true });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      expect(row).toMatchObject({ GenAiProvider: 'openai', GenAiResponseModel: 'gpt-4.1-2025-04-14', GenAiComplete: true, GenAiUsageSource: 'provider' });
      expect(row.GenAiOutputText).toContain("I'll look that up for you.");
      expect(JSON.parse(row.GenAiToolCalls)).toEqual([expect.objectContaining({ name: 'search_orders', arguments: '{"customer":"C-1042"}' })]);
      expect([Number(row.GenAiInputTokens), Number(row.GenAiOutputTokens), Number(row.GenAiCachedInputTokens), Number(row.GenAiReasoningTokens)]).toEqual([318, 41, 128, 16]);
    });

    test('Anthropic Messages SSE: text, tool input and usage folded', async () => {
      const testId = id('anthropic');
      const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, max_tokens: 1024, messages: [{ role: 'user', content: 'Weather in Kraków?' }] }));
      const request = {
        method: 'POST',
        path: '/v1/messages',
        body,
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-upstream-fixture': 'anthropic-messages-stream' },
      };
      const response = await nodeHttp2({ port: stack.port('streamed'), testId, authority: 'api.anthropic.com', ...request });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      expect(row).toMatchObject({ GenAiProvider: 'anthropic', GenAiResponseModel: 'claude-sonnet-4-5-20250929', GenAiFinishReasons: ['tool_use'], GenAiComplete: true });
      // Input tokens include the cached ones (412 + 2048 read from the cache).
      expect([Number(row.GenAiInputTokens), Number(row.GenAiCachedInputTokens), Number(row.GenAiOutputTokens)]).toEqual([2460, 2048, 57]);
      expect(JSON.parse(row.GenAiToolCalls)).toEqual([expect.objectContaining({ arguments: '{"city": "Kraków", "unit": "c"}' })]);
    });
  });

  describe.each(['gzip', 'br', 'zstd'])('a %s-encoded answer', (encoding) => {
    test('reaches the client as sent and is stored decoded', async () => {
      const testId = id(`encoded-${encoding}`);
      const response = await curl({ port: stack.port('streamed'), testId, path: `/encoded/${encoding}` });
      await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: `/encoded/${encoding}` });
      const row = await stack.row(testId);
      await expectRowMatches(stack, testId, row, { method: 'GET', path: `/encoded/${encoding}` });
      const decoded = jsonAnswer(8192);
      expect(row.ResponseContentEncoding).toBe(encoding);
      expect(row.ResponseBody).toBe(decoded.toString('utf8'));
      expect(Number(row.ResponseBodyDecodedSize)).toBe(decoded.length);
      expect(Number(row.ResponseBodySize)).toBe(response.body.length);
      expect(Number(row.ResponseBodySize)).toBeLessThan(decoded.length);
    });
  });

  test('a 10 MiB upload: the upstream gets every byte; the row keeps head and tail, the whole size and hash', async () => {
    const testId = id('upload-10mib');
    const body = Buffer.alloc(TEN_MIB, 'x');
    body.write('{"head":"', 0);
    body.write('","tail":true}', TEN_MIB - 14);
    const request = { method: 'POST', path: '/echo', body, headers: { 'content-type': 'application/json' } };
    const response = await curl({ port: stack.port('streamed'), testId, ...request });
    await expectFaithfulTraffic(stack, testId, response, request);
    const row = await stack.row(testId);
    expect(Number(row.RequestBodySize)).toBe(TEN_MIB);
    expect(row.RequestBodySha256).toBe(sha256(body));
    expect(row.RequestBodyTruncated).toBe(true);
    expect(row.RequestBody.startsWith('{"head":"xxx')).toBe(true);
    expect(row.RequestBody.endsWith('xxx","tail":true}')).toBe(true);
    expect(row.RequestBody).toMatch(/bytes skipped/);
    expect(Buffer.byteLength(row.RequestBody)).toBeLessThan(MAX_BYTES + 200);
    expect(row.Outcome).toBe('complete');
  });

  test('a 10 MiB download over HTTP/2: the client gets every byte; the row keeps head and tail', async () => {
    const testId = id('download-10mib');
    const response = await nodeHttp2({ port: stack.port('streamed'), testId, path: `/bytes/${TEN_MIB}` });
    await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: `/bytes/${TEN_MIB}` });
    const row = await stack.row(testId);
    expect(Number(row.ResponseBodySize)).toBe(TEN_MIB);
    expect(row.ResponseBodySha256).toBe(sha256(response.body));
    expect(row.ResponseBodyTruncated).toBe(true);
    expect(Buffer.byteLength(row.ResponseBody)).toBeLessThan(MAX_BYTES + 200);
    expect(row.Outcome).toBe('complete');
  });

  test('HTTP/2 upstream with trailers: the client gets them, the row stores them', async () => {
    const testId = id('trailers');
    const response = await nodeHttp2({ port: stack.port('h2_upstream'), testId, path: '/trailers' });
    await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: '/trailers' });
    expect(response.trailers).toMatchObject({ 'x-final': 'yes' });
    const row = await stack.row(testId);
    await expectRowMatches(stack, testId, row, { method: 'GET', path: '/trailers' });
    expect(row.ResponseTrailers).toEqual(stack.upstream.sent(testId)!.trailers);
  });

  describe('a gRPC upstream', () => {
    let client: HealthClient;
    beforeAll(() => {
      const definition = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String });
      const Health = (grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }).grpc.health.v1.Health;
      client = new Health(`127.0.0.1:${stack.port('h2_upstream')}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
    });
    afterAll(() => client?.close());
    const check = (service: string, testId: string): Promise<{ status?: string; code?: number }> =>
      new Promise((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set('x-test-id', testId);
        client.check({ service }, metadata, (err, response) => resolve(err ? { code: err.code } : { status: response!.status }));
      });

    test('a unary call with trailers is answered and stored with grpc-status', async () => {
      const testId = id('grpc-ok');
      expect(await check('', testId)).toEqual({ status: 'SERVING' });
      const row = await stack.row(testId);
      expect(row).toMatchObject({ Method: 'POST', Path: '/grpc.health.v1.Health/Check', StatusCode: 200, Outcome: 'complete', RequestContentType: 'application/grpc' });
      expect(row.ResponseTrailers).toEqual({ 'grpc-status': '0' });
      expect(Number(row.ResponseBodySize)).toBe(7);
    });

    test('a trailers-only error is answered and stored with its grpc-status', async () => {
      const testId = id('grpc-trailers-only');
      expect(await check('no.such.Service', testId)).toEqual({ code: grpc.status.NOT_FOUND });
      const row = await stack.row(testId);
      expect(row).toMatchObject({ StatusCode: 200, Outcome: 'complete' });
      expect(row.ResponseHeaders['grpc-status']).toBe('5');
      expect(Number(row.ResponseBodySize)).toBe(0);
    });
  });

  test('a slow stream is not held back, and its longest stall is recorded', async () => {
    const testId = id('slow');
    const started = Date.now();
    const response = await curl({ port: stack.port('streamed'), testId, path: '/slow?events=5&gapMs=300' });
    const elapsed = Date.now() - started;
    await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: '/slow?events=5&gapMs=300' });
    // Held back per chunk, it would wait the 1 s message timeout five times over.
    expect(elapsed).toBeLessThan(5 * 300 + 2500);
    const row = await stack.row(testId);
    expect(row.ResponseMaxChunkGapMs).toBeGreaterThanOrEqual(250);
    expect(row.DurationMs).toBeGreaterThanOrEqual(4 * 300 - 50);
    expect(row.Outcome).toBe('complete');
  });

  test.each([
    ['HEAD', '/json'],
    ['GET', '/status/204'],
    ['GET', '/status/304'],
  ])('%s %s: no body, the exchange is complete', async (method, requestPath) => {
    const testId = id(`${method}-${requestPath.replace(/\W/g, '')}`);
    const response = await curl({ port: stack.port('streamed'), testId, method, path: requestPath });
    await expectFaithfulTraffic(stack, testId, response, { method, path: requestPath });
    const row = await stack.row(testId);
    await expectRowMatches(stack, testId, row, { method, path: requestPath, responseBodyKept: false });
    expect(Number(row.ResponseBodySize)).toBe(0);
    expect(row.ResponseBody).toBe('');
  });

  test('secrets reach the upstream untouched and are stored redacted', async () => {
    const testId = id('redaction');
    const key = 'sk-proj-4f9Qm2LrT8vX1cZ7bN3kH6yW0pS5aD';
    const body = Buffer.from(JSON.stringify({ api_key: key, prompt: 'hello' }));
    const request = { method: 'POST', path: '/echo', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } };
    const response = await curl({ port: stack.port('streamed'), testId, ...request });
    await expectFaithfulTraffic(stack, testId, response, request);
    const row = await stack.row(testId);
    expect(row.RequestHeaders.authorization).toMatch(/^\[REDACTED len=\d+ hmac=[0-9a-f]{12}\]$/);
    expect(row.RequestBody).not.toContain(key);
    expect(row.RequestBody).toContain('[REDACTED');
    expect(row.RequestBodySha256).toBe(sha256(body));
  });

  test("Envoy's request attributes fill RequestId and SourceAddress", async () => {
    const testId = id('attributes');
    const response = await curl({ port: stack.port('streamed'), testId, path: '/json' });
    expect(response.status).toBe(200);
    const row = await stack.row(testId);
    expect(row.RequestId).toBe(row.RequestHeaders['x-request-id']);
    expect(row.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.SourceAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(row.Attributes['request.time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);
  });

  test('forwarded dynamic metadata (the workload identity) lands in Metadata; other namespaces do not', async () => {
    const testId = id('metadata');
    const response = await curl({ port: stack.port('workload'), testId, path: '/json' });
    expect(response.status).toBe(200);
    const row = await stack.row(testId);
    expect(row.Metadata).toEqual({ [`${WORKLOAD_METADATA_NAMESPACE}.name`]: 'billing-api', [`${WORKLOAD_METADATA_NAMESPACE}.namespace`]: 'payments' });
  });

  test('no failed stream, timeout or spurious message on any listener', async () => {
    for (const listener of LISTENERS) await expectCleanExtProc(stack, listener.name);
  });
});

describeEnvoy('ext_proc over a Unix domain socket', (version, binary) => {
  let stack: EnvoyStack;
  beforeAll(async () => {
    stack = await startStack(binary, version, { listeners: [{ name: 'uds', extProc: { processingMode: STREAMED } }], unixSocket: true });
  });
  afterAll(() => stack?.stop());

  test('Envoy reaches the service over the socket; the exchange is stored', async () => {
    const testId = `uds-${version}`;
    const body = zlib.gzipSync(Buffer.from('{"hello":"socket"}'));
    const request = { method: 'POST', path: '/echo', body, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } };
    const response = await curl({ port: stack.port('uds'), testId, ...request });
    await expectFaithfulTraffic(stack, testId, response, request);
    const row = await stack.row(testId);
    expect(row.RequestBody).toBe('{"hello":"socket"}');
    expect(row.RequestContentEncoding).toBe('gzip');
    await expectCleanExtProc(stack, 'uds');
  });
});

/**
 * Issue #3 end to end: realistic AI streams go through the Envoy emulator to
 * the real capture server, split at awkward boundaries, and the folded
 * result lands in ClickHouse. The expected values come from folding the
 * whole fixture in one piece with the pure folder: however Envoy chunks the
 * stream, the row must say the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { HttpExchangeSpec } from '../emulator';
import { streamExchange, useGenAiCapture } from './genai-exchange';
import { ExchangeFolder } from '../../src/processing/genai/exchange-folder';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'genai');

function foldWhole(authority: string, requestPath: string, requestBody: Buffer, response: Buffer, responseContentType: string) {
  const folder = new ExchangeFolder({
    authority,
    path: requestPath,
    method: 'POST',
    requestContentType: 'application/json',
    statusCode: 200,
    responseContentType,
    limits: { outputTextMaxBytes: 65536, maxEventBytes: 1024 * 1024, toolArgsMaxBytes: 16 * 1024 },
  });
  folder.pushRequest(requestBody);
  folder.pushResponse(response);
  return folder.finish({ responseComplete: true })!;
}

describe('GenAI capture through the real server', () => {
  const capture = useGenAiCapture();
  const rowFor = capture.rowFor;

  const openAiRequest = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hi' }] }));

  it.each([
    ['one byte at a time for the first events', [1, 1, 1, 2, 3, 5, 8, 13, 21, 34]],
    ['7-byte reads', [7]],
    ['reads that straddle CRLF pairs and event ends', [2, 63, 1, 127]],
  ])('OpenAI chat stream folded the same whatever the chunking: %s', async (label, sizes) => {
    const response = fs.readFileSync(path.join(FIXTURES, 'openai-chat-stream.sse'));
    const expected = foldWhole('api.openai.com', '/v1/chat/completions', openAiRequest, response, 'text/event-stream');
    const id = `openai-${label.replace(/\W+/g, '-')}`;
    const result = await capture.envoy.runExchange(streamExchange({ id, authority: 'api.openai.com', path: '/v1/chat/completions', requestBody: openAiRequest, response, chunkSizes: sizes }));
    expect(result.violations).toEqual([]);
    expect(result.downstream.status).toBe(200);
    const row = await rowFor(id);
    expect(row.GenAiProvider).toBe('openai');
    expect(row.GenAiOperation).toBe('chat');
    expect(row.GenAiStreaming).toBe(true);
    expect(row.GenAiRequestModel).toBe('gpt-4o-mini');
    expect(row.GenAiResponseModel).toBe(expected.responseModel);
    expect(row.GenAiOutputText).toBe(expected.outputText);
    expect(row.GenAiOutputText.length).toBeGreaterThan(0);
    expect(row.GenAiFinishReasons).toEqual(expected.finishReasons);
    expect(row.GenAiUsageSource).toBe('provider');
    expect(Number(row.GenAiInputTokens)).toBe(expected.inputTokens);
    expect(Number(row.GenAiOutputTokens)).toBe(expected.outputTokens);
    expect(row.GenAiComplete).toBe(true);
    expect(row.ResponseBody).toBe(response.toString('utf8'));
    expect(row.ResponseBodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(row.ResponseFirstChunkMs).toBeGreaterThanOrEqual(0);
  });

  it('OpenAI tool-call fragments are merged by index', async () => {
    const response = fs.readFileSync(path.join(FIXTURES, 'openai-chat-tools-stream.sse'));
    const expected = foldWhole('api.openai.com', '/v1/chat/completions', openAiRequest, response, 'text/event-stream');
    const result = await capture.envoy.runExchange(
      streamExchange({ id: 'openai-tools', authority: 'api.openai.com', path: '/v1/chat/completions', requestBody: openAiRequest, response, chunkSizes: [5, 11] }),
    );
    expect(result.violations).toEqual([]);
    const row = await rowFor('openai-tools');
    const calls = JSON.parse(row.GenAiToolCalls) as Array<{ name: string; arguments: string }>;
    expect(calls.length).toBe(expected.toolCalls.length);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.map((call) => call.arguments)).toEqual(expected.toolCalls.map((call) => call.arguments));
    expect(() => JSON.parse(calls[0]!.arguments)).not.toThrow();
  });

  it('Anthropic Messages stream, gzip-encoded, is decoded while it streams and folded', async () => {
    const response = fs.readFileSync(path.join(FIXTURES, 'anthropic-messages-stream.sse'));
    const request = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, max_tokens: 512, messages: [{ role: 'user', content: 'Plan a trip' }] }));
    const expected = foldWhole('api.anthropic.com', '/v1/messages', request, response, 'text/event-stream');
    const gzipped = zlib.gzipSync(response);
    const result = await capture.envoy.runExchange(
      streamExchange({ id: 'anthropic-gzip', authority: 'api.anthropic.com', path: '/v1/messages', requestBody: request, response: gzipped, chunkSizes: [3, 40, 9], responseEncoding: 'gzip' }),
    );
    expect(result.violations).toEqual([]);
    const row = await rowFor('anthropic-gzip');
    expect(row.GenAiProvider).toBe('anthropic');
    expect(row.GenAiOutputText).toBe(expected.outputText);
    expect(row.GenAiFinishReasons).toEqual(expected.finishReasons);
    expect(Number(row.GenAiInputTokens)).toBe(expected.inputTokens);
    expect(Number(row.GenAiCachedInputTokens)).toBe(expected.cachedInputTokens);
    expect(Number(row.GenAiOutputTokens)).toBe(expected.outputTokens);
    expect(row.ResponseBody).toBe(response.toString('utf8'));
  });

  it('a stream cut by a client reset keeps what arrived and says it is incomplete', async () => {
    const response = fs.readFileSync(path.join(FIXTURES, 'openai-chat-stream.sse'));
    const spec = streamExchange({ id: 'openai-reset', authority: 'api.openai.com', path: '/v1/chat/completions', requestBody: openAiRequest, response, chunkSizes: [40] });
    spec.clientReset = { direction: 'response', afterChunks: 30 };
    const result = await capture.envoy.runExchange(spec);
    expect(result.downstream.status === 'reset' || result.close?.reason === 'client-reset').toBe(true);
    const row = await rowFor('openai-reset');
    expect(row.Outcome).not.toBe('complete');
    expect(row.GenAiComplete).toBe(false);
    // What reached the server before the reset is kept: a non-empty prefix of the stream.
    expect(row.ResponseBody.length).toBeGreaterThan(0);
    expect(row.ResponseBody.length).toBeLessThan(response.length);
    expect(response.toString('utf8').startsWith(row.ResponseBody)).toBe(true);
    expect(row.GenAiOutputText.length).toBeGreaterThan(0);
    expect(row.GenAiUsageSource).toBe('missing');
  });

  it('a zstd-compressed request body is decoded; encoding, wire and decoded sizes are recorded', async () => {
    const json = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'z'.repeat(5000) }] }));
    const compressed = zlib.zstdCompressSync(json);
    const spec: HttpExchangeSpec = {
      request: {
        headers: [
          [':method', 'POST'],
          [':path', '/v1/chat/completions'],
          [':authority', 'api.openai.com'],
          ['content-type', 'application/json'],
          ['content-encoding', 'zstd'],
          ['x-request-id', 'zstd-request'],
        ],
        body: [compressed],
      },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: [
          '{"id":"x","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}',
        ],
      },
    };
    const result = await capture.envoy.runExchange(spec);
    expect(result.violations).toEqual([]);
    const row = await rowFor('zstd-request');
    expect(row.RequestContentEncoding).toBe('zstd');
    expect(row.RequestBody).toBe(json.toString('utf8'));
    expect(Number(row.RequestBodySize)).toBe(compressed.length);
    expect(Number(row.RequestBodyDecodedSize)).toBe(json.length);
    expect(row.GenAiStreaming).toBe(false);
    expect(row.GenAiOutputText).toBe('ok');
    expect(Number(row.GenAiInputTokens)).toBe(5);
  });

  it('a body over maxBytes keeps its head and its tail, with the skipped byte count between', async () => {
    const events: string[] = [];
    for (let i = 0; i < 2000; i++) events.push(`data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}]}\n\n`);
    events.push(
      'data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":2000,"total_tokens":2009}}\n\n',
      'data: [DONE]\n\n',
    );
    const response = Buffer.from(events.join(''));
    expect(response.length).toBeGreaterThan(2 * 65536);
    const result = await capture.envoy.runExchange(
      streamExchange({ id: 'head-tail', authority: 'api.openai.com', path: '/v1/chat/completions', requestBody: openAiRequest, response, chunkSizes: [8192] }),
    );
    expect(result.violations).toEqual([]);
    const row = await rowFor('head-tail');
    expect(row.ResponseBodyTruncated).toBe(true);
    expect(Buffer.byteLength(row.ResponseBody)).toBeLessThanOrEqual(65536);
    expect(row.ResponseBody.startsWith(events[0]!)).toBe(true);
    expect(row.ResponseBody.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(row.ResponseBody).toMatch(/bytes skipped/);
    // The usage in the last event survived the cut.
    expect(Number(row.GenAiOutputTokens)).toBe(2000);
    expect(row.GenAiFinishReasons).toEqual(['length']);
  });

  it('secrets in bodies are redacted before storage, with a count per rule', async () => {
    const secretKey = 'sk-proj-' + 'A1b2C3d4E5f6G7h8I9j0'.repeat(2);
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', api_key: 'hunter2-is-my-password', messages: [{ role: 'user', content: `my key is ${secretKey}, keep it safe` }] }));
    const spec: HttpExchangeSpec = {
      request: {
        headers: [
          [':method', 'POST'],
          [':path', '/v1/chat/completions'],
          [':authority', 'api.openai.com'],
          ['content-type', 'application/json'],
          ['x-request-id', 'redaction'],
        ],
        body: [body],
      },
      response: {
        headers: [
          [':status', '401'],
          ['content-type', 'application/json'],
        ],
        body: ['{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}'],
      },
    };
    await capture.envoy.runExchange(spec);
    const row = await rowFor('redaction');
    expect(row.RequestBody).not.toContain(secretKey);
    expect(row.RequestBody).not.toContain('hunter2-is-my-password');
    expect(row.RequestBody).toMatch(/\[REDACTED len=\d+ hmac=[0-9a-f]{12}\]/);
    expect(Object.values(row.BodyRedactions).reduce((a, b) => a + Number(b), 0)).toBe(2);
    expect(row.GenAiErrorType).toBe('invalid_request_error');
    expect(await capture.harness.metric('egress_capture_body_redactions_total')).toBeGreaterThanOrEqual(2);
  });
});

/**
 * Issue #23 end to end, as a new user would meet it: no provider mapping
 * configured, model calls to Gemini, Vertex AI (Gemini and Anthropic), Groq,
 * Mistral, Bedrock InvokeModel and a self-hosted OpenAI-compatible server go
 * through the Envoy emulator to the real capture server, streamed in awkward
 * chunks, and the stored row says the right model, text, tool calls, usage
 * and finish reason. Expected values are written out from the fixtures,
 * not computed by the folder under test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { bedrockAnthropicInvokeStream } from '../processing/genai/eventstream-encoder';
import { streamExchange, useGenAiCapture } from './genai-exchange';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'genai');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

interface Expected {
  /** x-request-id of the exchange. */
  id: string;
  provider: string;
  api: string;
  operation: string;
  requestModel: string;
  responseModel: string;
  text: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReasons: string[];
  inputTokens: number;
  outputTokens: number;
}

interface Call {
  authority: string;
  path: string;
  requestBody: string;
  response: Buffer;
  chunkSizes: number[];
  contentType?: string;
  gzip?: boolean;
}

const geminiRequest = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Weather in Oslo?' }] }] });
// An API key in the query, as Gemini clients may send it: a credential, never stored.
const geminiKey = 'AIzaSyD-k3yF0rT3st1ngOnlyXXXXXXXXXXXXXXX';
const geminiAnswer = {
  responseModel: 'gemini-2.5-flash',
  text: 'The forecast for Oslo is snow ❄️ — fetching details.',
  toolCalls: [{ id: '', name: 'get_forecast', arguments: '{"city":"Oslo","days":2}' }],
  finishReasons: ['STOP'],
  // prompt 1210 (1024 cached, included) + 12 tool-use prompt tokens; 35 answer + 80 thinking tokens.
  inputTokens: 1222,
  outputTokens: 115,
};

const CASES: Array<[label: string, call: Call, expected: Expected]> = [
  [
    'a Gemini API answer streamed with alt=sse, gzip-encoded, the API key in the query',
    {
      authority: 'generativelanguage.googleapis.com',
      path: `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${geminiKey}`,
      requestBody: geminiRequest,
      response: fixture('gemini-stream.sse'),
      chunkSizes: [1, 2, 3, 5, 8, 13, 21, 34, 55],
      gzip: true,
    },
    { id: 'gemini-sse', provider: 'gcp.gemini', api: 'gemini_generate_content', operation: 'generate_content', requestModel: 'gemini-2.5-flash', ...geminiAnswer },
  ],
  [
    'Gemini on Vertex AI streamed as a JSON array, element boundaries anywhere',
    {
      authority: 'europe-west4-aiplatform.googleapis.com',
      path: '/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent',
      requestBody: geminiRequest,
      response: fixture('gemini-stream-array.json'),
      chunkSizes: [7, 1, 90, 3],
      contentType: 'application/json; charset=UTF-8',
    },
    { id: 'vertex-gemini-array', provider: 'gcp.vertex_ai', api: 'gemini_generate_content', operation: 'generate_content', requestModel: 'gemini-2.5-flash', ...geminiAnswer },
  ],
  [
    'Anthropic on Vertex AI (streamRawPredict), the model named only by the path',
    {
      authority: 'us-east5-aiplatform.googleapis.com',
      path: '/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict',
      requestBody: JSON.stringify({ anthropic_version: 'vertex-2023-10-16', stream: true, max_tokens: 512, messages: [{ role: 'user', content: 'Weather in Zürich?' }] }),
      response: fixture('vertex-anthropic-stream.sse'),
      chunkSizes: [2, 63, 1, 127],
    },
    {
      id: 'vertex-anthropic',
      provider: 'gcp.vertex_ai',
      api: 'anthropic_messages',
      operation: 'chat',
      requestModel: 'claude-sonnet-4@20250514',
      responseModel: 'claude-sonnet-4-20250514',
      text: "I'll look up the Zürich forecast.",
      toolCalls: [{ id: 'toolu_vrtx_01D7FLrfh4GYq7yT1ULmeyLh', name: 'get_forecast', arguments: '{"city": "Zürich", "days": 3}' }],
      finishReasons: ['tool_use'],
      inputTokens: 388,
      outputTokens: 71,
    },
  ],
  [
    'a Groq chat stream (usage in x_groq)',
    {
      authority: 'api.groq.com',
      path: '/openai/v1/chat/completions',
      requestBody: JSON.stringify({ model: 'llama-3.3-70b-versatile', stream: true, messages: [{ role: 'user', content: 'Weather in Lisbon?' }] }),
      response: fixture('groq-chat-stream.sse'),
      chunkSizes: [11, 4],
    },
    {
      id: 'groq-stream',
      provider: 'groq',
      api: 'openai_chat_completions',
      operation: 'chat',
      requestModel: 'llama-3.3-70b-versatile',
      responseModel: 'llama-3.3-70b-versatile',
      text: "Let me check Lisbon's weather.",
      toolCalls: [{ id: 'call_8k2p', name: 'get_weather', arguments: '{"city":"Lisbon","unit":"celsius"}' }],
      finishReasons: ['tool_calls'],
      inputTokens: 231,
      outputTokens: 38,
    },
  ],
  [
    'a Mistral chat stream, gzip-encoded',
    {
      authority: 'api.mistral.ai',
      path: '/v1/chat/completions',
      requestBody: JSON.stringify({ model: 'mistral-large-latest', stream: true, messages: [{ role: 'user', content: 'Météo à Lyon ?' }] }),
      response: fixture('mistral-chat-stream.sse'),
      chunkSizes: [3, 40, 9],
      gzip: true,
    },
    {
      id: 'mistral-stream',
      provider: 'mistral_ai',
      api: 'openai_chat_completions',
      operation: 'chat',
      requestModel: 'mistral-large-latest',
      responseModel: 'mistral-large-latest',
      text: 'Je vérifie la météo à Lyon.',
      toolCalls: [{ id: 'D681PevKs', name: 'get_weather', arguments: '{"city": "Lyon"}' }],
      finishReasons: ['tool_calls'],
      inputTokens: 94,
      outputTokens: 27,
    },
  ],
  [
    'a Bedrock InvokeModelWithResponseStream answer from Claude',
    {
      authority: 'bedrock-runtime.us-west-2.amazonaws.com',
      path: '/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke-with-response-stream',
      requestBody: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 400, messages: [{ role: 'user', content: 'Tides in Tromsø?' }] }),
      response: bedrockAnthropicInvokeStream(),
      chunkSizes: [5, 101, 17],
      contentType: 'application/vnd.amazon.eventstream',
    },
    {
      id: 'bedrock-invoke-stream',
      provider: 'aws.bedrock',
      api: 'bedrock_invoke_stream',
      operation: 'chat',
      requestModel: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
      responseModel: 'claude-3-7-sonnet-20250219',
      text: 'Fetching the tide table for Tromsø.',
      toolCalls: [{ id: 'toolu_bdrk_01A09q90qw90lq917835lq9', name: 'get_tides', arguments: '{"port": "Tromsø"}' }],
      finishReasons: ['tool_use'],
      inputTokens: 512,
      outputTokens: 58,
    },
  ],
];

describe('every major model API folded through the real server, without a mapping', () => {
  const capture = useGenAiCapture();

  it.each(CASES)('%s', async (_label, call, e) => {
    const result = await capture.envoy.runExchange(
      streamExchange({
        id: e.id,
        authority: call.authority,
        path: call.path,
        requestBody: Buffer.from(call.requestBody),
        response: call.gzip === true ? zlib.gzipSync(call.response) : call.response,
        chunkSizes: call.chunkSizes,
        contentType: call.contentType,
        responseEncoding: call.gzip === true ? 'gzip' : undefined,
      }),
    );
    expect(result.violations).toEqual([]);
    const row = await capture.rowFor(e.id);
    expect(row.GenAiProvider).toBe(e.provider);
    expect(row.GenAiApi).toBe(e.api);
    expect(row.GenAiOperation).toBe(e.operation);
    expect(row.GenAiRequestModel).toBe(e.requestModel);
    expect(row.GenAiResponseModel).toBe(e.responseModel);
    expect(row.GenAiStreaming).toBe(true);
    expect(row.GenAiOutputText).toBe(e.text);
    expect((JSON.parse(row.GenAiToolCalls) as Array<{ id: string; name: string; arguments: string }>).map(({ id, name, arguments: args }) => ({ id, name, arguments: args }))).toEqual(e.toolCalls);
    expect(row.GenAiFinishReasons).toEqual(e.finishReasons);
    expect(Number(row.GenAiInputTokens)).toBe(e.inputTokens);
    expect(Number(row.GenAiOutputTokens)).toBe(e.outputTokens);
    expect(row.GenAiUsageSource).toBe('provider');
    expect(row.GenAiErrorType).toBe('');
    expect(row.GenAiComplete).toBe(true);
  });

  it('Gemini rows keep the response id, cached and thinking tokens, the whole stream, and no API key', async () => {
    const row = await capture.rowFor('gemini-sse');
    expect(row.GenAiResponseId).toBe('Qk1zaNOhB7SLz7IPp4yV4Ao');
    expect(Number(row.GenAiCachedInputTokens)).toBe(1024);
    expect(Number(row.GenAiReasoningTokens)).toBe(80);
    expect(row.ResponseBody).toBe(fixture('gemini-stream.sse').toString('utf8'));
    expect(row.Path).not.toContain(geminiKey);
    expect(row.Path).toContain('alt=sse');
  });

  it('a Gemini array stream cut by a client reset keeps what arrived and says it is incomplete', async () => {
    const response = fixture('gemini-stream-array.json');
    const spec = streamExchange({
      id: 'gemini-array-reset',
      authority: 'generativelanguage.googleapis.com',
      path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
      requestBody: Buffer.from(geminiRequest),
      response,
      chunkSizes: [64],
      contentType: 'application/json; charset=UTF-8',
    });
    // 30 × 64 bytes: past the second element, before the last (which has the function call and the finish reason).
    spec.clientReset = { direction: 'response', afterChunks: 30 };
    await capture.envoy.runExchange(spec);
    const row = await capture.rowFor('gemini-array-reset');
    expect(row.Outcome).not.toBe('complete');
    expect(row.GenAiProvider).toBe('gcp.gemini');
    expect(row.GenAiComplete).toBe(false);
    expect(row.GenAiFinishReasons).toEqual([]);
    expect(row.GenAiToolCalls).toBe('');
    // What arrived before the reset is kept (how much depends on when the reset lands): a prefix of the answer.
    expect(row.GenAiOutputText.length).toBeGreaterThan(0);
    expect('The forecast for Oslo is snow ❄️ — fetching details.'.startsWith(row.GenAiOutputText)).toBe(true);
  });

  it('a self-hosted OpenAI-compatible server is folded as openai_compatible; other JSON on the same path is not a model call', async () => {
    const request = Buffer.from(JSON.stringify({ model: 'Qwen/Qwen2.5-7B-Instruct', stream: true, messages: [{ role: 'user', content: 'Hi' }] }));
    await capture.envoy.runExchange(
      streamExchange({ id: 'vllm-stream', authority: 'vllm.ml.internal:8000', path: '/v1/chat/completions', requestBody: request, response: fixture('groq-chat-stream.sse'), chunkSizes: [9] }),
    );
    const row = await capture.rowFor('vllm-stream');
    expect(row.GenAiProvider).toBe('openai_compatible');
    expect(row.Authority).toBe('vllm.ml.internal:8000');
    expect(row.GenAiRequestModel).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(row.GenAiOutputText).toBe("Let me check Lisbon's weather.");
    expect(Number(row.GenAiOutputTokens)).toBe(38);

    await capture.envoy.runExchange(
      streamExchange({
        id: 'not-a-model',
        authority: 'intranet.corp',
        path: '/api/chat/completions',
        requestBody: Buffer.from('{"q":1}'),
        response: Buffer.from('{"status":"queued","ticket":42}'),
        chunkSizes: [8],
        contentType: 'application/json',
      }),
    );
    const other = await capture.rowFor('not-a-model');
    expect(other.GenAiProvider).toBe('');
    expect(other.GenAiApi).toBe('');
    expect(other.GenAiInputTokens).toBeNull();
  });

  it('a Gemini quota error is recorded as the provider error', async () => {
    const body = Buffer.from(JSON.stringify({ error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } }));
    const spec = streamExchange({
      id: 'gemini-429',
      authority: 'generativelanguage.googleapis.com',
      path: '/v1beta/models/gemini-2.5-pro:generateContent',
      requestBody: Buffer.from('{"contents":[]}'),
      response: body,
      chunkSizes: [16],
      contentType: 'application/json',
    });
    spec.response!.headers[0] = [':status', '429'];
    await capture.envoy.runExchange(spec);
    const row = await capture.rowFor('gemini-429');
    expect(row.StatusCode).toBe(429);
    expect(row.GenAiProvider).toBe('gcp.gemini');
    expect(row.GenAiErrorType).toBe('RESOURCE_EXHAUSTED');
    expect(row.GenAiErrorMessage).toBe('Resource has been exhausted (e.g. check quota).');
  });
});

/**
 * Token usage from Envoy's own AI filter (ai_protocol_manager, Envoy 1.40+),
 * with the real Envoy and the real service: the response body is not sent to
 * the service at all (response body mode NONE), Envoy parses the answer,
 * writes envoy.data.ai.v3.TokenUsage as typed metadata and synthesizes
 * trailers, and the service stores that usage from ext_proc's trailers
 * message. When the body is streamed too, the usage folded from the body is
 * kept and Envoy's is not needed. Envoy 1.39 has no such filter.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeEnvoy } from './describe-envoy';
import type { ListenerConfig } from './envoy-bootstrap';
import { startStack, type EnvoyStack } from './envoy-stack';
import { curl } from './http-clients';
import { GENAI_FIXTURES } from './upstream-server';

/**
 * Envoy 1.40 does not always put the usage on the trailers message: on a
 * loaded 2-core machine an Anthropic answer reached the service with its
 * response_trailers message but no TokenUsage metadata in 2 of 12 runs
 * (docs/envoy-behaviour.md). Each case gets one more try; a service that
 * lost the usage itself fails both.
 */
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const NAMESPACE = 'egress_capture.ai';
const LISTENERS: ListenerConfig[] = [
  // Headers and trailers only: the answer's bytes never reach the service.
  { name: 'usage_only', aiTokenUsageNamespace: NAMESPACE, extProc: { processingMode: { requestBodyMode: 'NONE', responseBodyMode: 'NONE', responseTrailerMode: 'SEND' }, messageTimeoutMs: 1000 } },
  {
    name: 'streamed',
    aiTokenUsageNamespace: NAMESPACE,
    extProc: { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED', responseTrailerMode: 'SEND' }, messageTimeoutMs: 1000 },
  },
];

/** Envoy versions with the ai_protocol_manager filter. */
function hasAiFilter(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major! > 1 || minor! >= 40;
}

describeEnvoy('token usage extracted by Envoy', (version, binary) => {
  const run = hasAiFilter(version) ? test : test.skip;
  let stack: EnvoyStack | undefined;
  beforeAll(async () => {
    if (hasAiFilter(version)) stack = await startStack(binary, version, { listeners: LISTENERS });
  });
  afterAll(() => stack?.stop());

  const chat = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello in French' }] }));
  const messages = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, max_tokens: 1024, messages: [{ role: 'user', content: 'Weather in Kraków?' }] }));
  const fixtureBytes = (name: string): Buffer => fs.readFileSync(path.join(GENAI_FIXTURES, `${name}.sse`));
  /** The OpenAI chat stream through one of the listeners. */
  const openAiChat = (listener: string, testId: string) =>
    curl({
      port: stack!.port(listener),
      testId,
      authority: 'api.openai.com',
      method: 'POST',
      path: '/v1/chat/completions',
      body: chat,
      headers: { 'content-type': 'application/json', 'x-upstream-fixture': 'openai-chat-stream' },
    });

  run('an OpenAI stream whose body the service never sees is stored with Envoy’s usage', async () => {
    const testId = `envoy-usage-${version}-openai`;
    const response = await openAiChat('usage_only', testId);
    // The client gets the whole answer, and no synthesized trailer leaks to it.
    expect(response.body.toString('utf8')).toBe(fixtureBytes('openai-chat-stream').toString('utf8'));
    const row = await stack!.row(testId);
    expect(row).toMatchObject({
      ResponseBody: '',
      ResponseBodyCaptured: false,
      GenAiProvider: 'openai',
      GenAiApi: 'openai_chat_completions',
      GenAiResponseModel: 'gpt-4o-mini-2024-07-18',
      GenAiUsageSource: 'envoy',
      GenAiOutputText: '',
      GenAiComplete: true,
    });
    expect([Number(row.GenAiInputTokens), Number(row.GenAiOutputTokens), Number(row.GenAiCachedInputTokens), Number(row.GenAiReasoningTokens)]).toEqual([1187, 14, 1024, 0]);
  });

  run('an Anthropic stream: Envoy’s input count includes cache reads, as the usage columns do', async () => {
    const testId = `envoy-usage-${version}-anthropic`;
    await curl({
      port: stack!.port('usage_only'),
      testId,
      authority: 'api.anthropic.com',
      method: 'POST',
      path: '/v1/messages',
      body: messages,
      headers: { 'content-type': 'application/json', 'x-upstream-fixture': 'anthropic-messages-stream' },
    });
    const row = await stack!.row(testId);
    expect(row).toMatchObject({ GenAiProvider: 'anthropic', GenAiResponseModel: 'claude-sonnet-4-5-20250929', GenAiUsageSource: 'envoy' });
    expect([Number(row.GenAiInputTokens), Number(row.GenAiCachedInputTokens), Number(row.GenAiOutputTokens)]).toEqual([2460, 2048, 57]);
  });

  run('with the body streamed as well, the usage folded from the body is kept and the client gets the whole answer', async () => {
    const testId = `envoy-usage-${version}-streamed`;
    const response = await openAiChat('streamed', testId);
    expect(response.body.toString('utf8')).toBe(fixtureBytes('openai-chat-stream').toString('utf8'));
    const row = await stack!.row(testId);
    expect(row).toMatchObject({ GenAiUsageSource: 'provider', GenAiFinishReasons: ['stop'], ResponseBody: fixtureBytes('openai-chat-stream').toString('utf8') });
    expect(row.GenAiOutputText.length).toBeGreaterThan(0);
    expect([Number(row.GenAiInputTokens), Number(row.GenAiOutputTokens)]).toEqual([1187, 14]);
    // Envoy 1.40.0 quirk (docs/envoy-behaviour.md): with a STREAMED response body, the trailers the AI
    // filter synthesizes never reach ext_proc, and the last body message is not marked end_of_stream,
    // so the exchange reads as closed without its end although the client got all of it.
    expect(row.Outcome).toBe('closed_without_end');
  });
});

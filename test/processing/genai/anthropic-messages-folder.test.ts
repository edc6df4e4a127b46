import { fixture, fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits } from './chunking';

const messages: FoldCase = {
  authority: 'api.anthropic.com:443',
  path: '/v1/messages',
  requestBody: JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Weather in Kraków?' }],
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    stream: true,
  }),
  responseContentType: 'text/event-stream',
};

describe('Anthropic Messages folding', () => {
  it('folds text, tool_use input, usage and stop reason, identically for every split (CRLF stream)', () => {
    const bytes = fixture('anthropic-messages-stream.sse');
    const whole = fold(messages, [bytes]);
    expect(whole).toMatchObject({
      provider: 'anthropic',
      api: 'anthropic_messages',
      requestModel: 'claude-sonnet-4-5',
      requestStream: true,
      responseModel: 'claude-sonnet-4-5-20250929',
      responseId: 'msg_01HqL3vVx9',
      // 412 uncached + 2048 read from cache: the convention counts both as input.
      inputTokens: 2460,
      cachedInputTokens: 2048,
      cacheCreationInputTokens: 0,
      outputTokens: 57,
      usageSource: 'provider',
      finishReasons: ['tool_use'],
      outputText: 'Let me check the weather in Kraków — ☀️?',
      toolCalls: [{ id: 'toolu_01A7bQ', name: 'get_weather', arguments: '{"city": "Kraków", "unit": "c"}', argumentsTruncated: false }],
      eventCount: 13,
      endMarkerSeen: true,
      complete: true,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(messages, pieces)).toEqual(whole);
    for (const pieces of randomSplits(bytes, 200, 29)) expect(fold(messages, pieces)).toEqual(whole);
  });

  it('records an error event, keeps the partial text and input usage', () => {
    const bytes = fixture('anthropic-overloaded-stream.sse');
    const whole = fold(messages, [bytes])!;
    expect(whole).toMatchObject({
      outputText: 'Partial ans',
      errorType: 'overloaded_error',
      errorMessage: 'Overloaded',
      inputTokens: 25,
      outputTokens: 1,
      usageSource: 'provider',
      complete: false,
      endMarkerSeen: false,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(messages, pieces)).toEqual(whole);
  });

  it('keeps the input usage from message_start when the client resets mid-stream', () => {
    const text = Buffer.from(fixture('anthropic-messages-stream.sse')).toString('utf8');
    const cut = Buffer.from(text.slice(0, text.indexOf('"partial_json":"{')), 'utf8');
    const s = fold(messages, [cut], false)!;
    expect(s).toMatchObject({
      inputTokens: 2460,
      outputTokens: 1,
      outputText: 'Let me check the weather in Kraków — ☀️?',
      finishReasons: [],
      complete: false,
    });
    expect(s.toolCalls).toEqual([{ id: 'toolu_01A7bQ', name: 'get_weather', arguments: '', argumentsTruncated: false }]);
  });

  it('takes the latest cumulative usage from message_delta', () => {
    const ev = (name: string, data: object): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const sse =
      ev('message_start', { type: 'message_start', message: { id: 'msg_x', model: 'claude-opus-4-1', usage: { input_tokens: 10, cache_creation_input_tokens: 300, output_tokens: 1 } } }) +
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'max_tokens' },
        usage: { input_tokens: 10, cache_creation_input_tokens: 300, cache_read_input_tokens: 0, output_tokens: 64 },
      }) +
      ev('message_stop', { type: 'message_stop' });
    expect(fold(messages, [Buffer.from(sse)])).toMatchObject({
      inputTokens: 310,
      cacheCreationInputTokens: 300,
      cachedInputTokens: 0,
      outputTokens: 64,
      finishReasons: ['max_tokens'],
    });
  });

  it('folds a non-streaming message and an error body', () => {
    const body = {
      id: 'msg_013Zva',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5-20251001',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_9', name: 'lookup', input: { sku: 'A-1', qty: 2 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 120, output_tokens: 33, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    };
    const c = { ...messages, responseContentType: 'application/json' };
    expect(fold(c, [Buffer.from(JSON.stringify(body))])).toMatchObject({
      streaming: false,
      responseModel: 'claude-haiku-4-5-20251001',
      outputText: 'Checking.',
      toolCalls: [{ id: 'toolu_9', name: 'lookup', arguments: '{"sku":"A-1","qty":2}', argumentsTruncated: false }],
      inputTokens: 120,
      outputTokens: 33,
      finishReasons: ['tool_use'],
      complete: true,
    });
    const err = '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011"}';
    expect(fold({ ...c, statusCode: 400 }, [Buffer.from(err)])).toMatchObject({
      errorType: 'invalid_request_error',
      errorMessage: 'max_tokens: Field required',
      statusCode: 400,
    });
  });
});

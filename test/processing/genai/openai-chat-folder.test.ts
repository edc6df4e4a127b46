import { fixture, fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits } from './chunking';

const chat: FoldCase = {
  authority: 'api.openai.com',
  path: '/v1/chat/completions',
  requestBody: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello, "stream": false is inside a string {[' }],
    stream: true,
    stream_options: { include_usage: true },
  }),
  responseContentType: 'text/event-stream; charset=utf-8',
};

describe('OpenAI Chat Completions folding', () => {
  it('folds text, usage, finish reason and ids, identically for every split', () => {
    const bytes = fixture('openai-chat-stream.sse');
    const whole = fold(chat, [bytes]);
    expect(whole).toMatchObject({
      provider: 'openai',
      api: 'openai_chat_completions',
      operation: 'chat',
      requestModel: 'gpt-4o-mini',
      requestStream: true,
      responseModel: 'gpt-4o-mini-2024-07-18',
      responseId: 'chatcmpl-9fXq2',
      streaming: true,
      inputTokens: 1187,
      outputTokens: 14,
      cachedInputTokens: 1024,
      reasoningTokens: 0,
      usageSource: 'provider',
      finishReasons: ['stop'],
      outputText: 'Bonjour à tous — 你好 👋\nSecond line.',
      outputTextTruncated: false,
      toolCalls: [],
      eventCount: 7,
      endMarkerSeen: true,
      complete: true,
      errorType: null,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(chat, pieces)).toEqual(whole);
    for (const pieces of randomSplits(bytes, 200, 37)) expect(fold(chat, pieces)).toEqual(whole);
  });

  it('merges tool call argument fragments by index', () => {
    const bytes = fixture('openai-chat-tools-stream.sse');
    const whole = fold(chat, [bytes])!;
    expect(whole.toolCalls).toEqual([
      { id: 'call_wX1Kp0', name: 'get_weather', arguments: '{"location": "Zürich"}', argumentsTruncated: false },
      { id: 'call_bR7Lm2', name: 'get_time', arguments: '{"tz": "Europe/Zurich"}', argumentsTruncated: false },
    ]);
    expect(whole.finishReasons).toEqual(['tool_calls']);
    expect(whole.outputText).toBe('');
    // No include_usage chunk in this stream: usage is missing, not zero.
    expect(whole.usageSource).toBe('missing');
    expect(whole.inputTokens).toBeNull();
    for (const pieces of twoWaySplits(bytes)) expect(fold(chat, pieces)).toEqual(whole);
  });

  it('keeps what arrived from a stream cut short and says so', () => {
    const bytes = fixture('openai-chat-stream.sse');
    const text = Buffer.from(bytes).toString('utf8');
    const cut = Buffer.from(text.slice(0, text.indexOf('Second line')), 'utf8');
    const s = fold(chat, [cut], false)!;
    expect(s.outputText).toBe('Bonjour à tous');
    expect(s.complete).toBe(false);
    expect(s.endMarkerSeen).toBe(false);
    expect(s.usageSource).toBe('missing');
    // Even when the transport says complete, a stream without [DONE] is not complete.
    expect(fold(chat, [cut], true)!.complete).toBe(false);
  });

  it('caps output text on a character boundary and tool arguments at their limit', () => {
    const capped = fold({ ...chat, limits: { outputTextMaxBytes: 20 } }, [fixture('openai-chat-stream.sse')])!;
    // "Bonjour à tous — " is 20 bytes; the next character would not fit.
    expect(capped.outputText).toBe('Bonjour à tous — ');
    expect(Buffer.byteLength(capped.outputText)).toBeLessThanOrEqual(20);
    expect(capped.outputTextTruncated).toBe(true);
    expect(capped.outputTextBytes).toBe(Buffer.byteLength('Bonjour à tous — 你好 👋\nSecond line.'));
    const tools = fold({ ...chat, limits: { toolArgsMaxBytes: 8 } }, [fixture('openai-chat-tools-stream.sse')])!;
    expect(tools.toolCalls[0]).toMatchObject({ arguments: '{"locati', argumentsTruncated: true });
  });

  it('folds a non-streaming response', () => {
    const body = JSON.stringify({
      id: 'chatcmpl-B1',
      object: 'chat.completion',
      model: 'gpt-4o-2024-08-06',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    const c = { ...chat, requestBody: '{"model":"gpt-4o","messages":[]}', responseContentType: 'application/json' };
    const bytes = Buffer.from(body);
    const s = fold(c, [bytes])!;
    expect(s).toMatchObject({
      streaming: false,
      requestStream: null,
      responseId: 'chatcmpl-B1',
      inputTokens: 50,
      outputTokens: 9,
      finishReasons: ['tool_calls'],
      toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}', argumentsTruncated: false }],
      eventCount: 1,
      endMarkerSeen: null,
      complete: true,
    });
    for (const pieces of randomSplits(bytes, 50, 13)) expect(fold(c, pieces)).toEqual(s);
  });

  it('reads the provider error body of a failed call', () => {
    const body = '{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}';
    const s = fold({ ...chat, statusCode: 429, responseContentType: 'application/json' }, [Buffer.from(body)])!;
    expect(s).toMatchObject({ errorType: 'requests', errorMessage: 'Rate limit reached for gpt-4o', statusCode: 429, usageSource: 'missing' });
  });

  it('records an error sent mid-stream', () => {
    const sse = 'data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\ndata: {"error":{"message":"The server had an error","type":"server_error","code":null}}\n\n';
    const s = fold(chat, [Buffer.from(sse)], true)!;
    expect(s).toMatchObject({ outputText: 'Hi', errorType: 'server_error', errorMessage: 'The server had an error', complete: false });
  });

  it('takes text from choice 0 only and finish reasons from every choice', () => {
    const sse = [
      '{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"A"}},{"index":1,"delta":{"content":"B"}}]}',
      '{"id":"c","model":"m","choices":[{"index":1,"delta":{},"finish_reason":"length"}]}',
      '{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
      '[DONE]',
    ]
      .map((d) => `data: ${d}\n\n`)
      .join('');
    const s = fold(chat, [Buffer.from(sse)])!;
    expect(s.outputText).toBe('A');
    expect(s.finishReasons).toEqual(['stop', 'length']);
  });

  it('ignores Azure content-filter chunks with an empty model', () => {
    const sse = [
      '{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}',
      '{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}],"id":"chatcmpl-az","model":"gpt-4o-2024-11-20"}',
      '[DONE]',
    ]
      .map((d) => `data: ${d}\n\n`)
      .join('');
    const s = fold({ ...chat, authority: 'contoso.openai.azure.com', path: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21', requestBody: '{"messages":[],"stream":true}' }, [
      Buffer.from(sse),
    ])!;
    expect(s).toMatchObject({ provider: 'azure.ai.openai', requestModel: 'prod-4o', responseModel: 'gpt-4o-2024-11-20', responseId: 'chatcmpl-az', outputText: 'ok' });
  });
});

describe('OpenAI-compatible providers', () => {
  it('folds a Groq stream: usage from x_groq, a whole tool call, without any mapping', () => {
    const c: FoldCase = {
      authority: 'api.groq.com',
      path: '/openai/v1/chat/completions',
      requestBody: JSON.stringify({ model: 'llama-3.3-70b-versatile', stream: true }),
      responseContentType: 'text/event-stream',
    };
    const bytes = fixture('groq-chat-stream.sse');
    const whole = fold(c, [bytes]);
    expect(whole).toMatchObject({
      provider: 'groq',
      responseModel: 'llama-3.3-70b-versatile',
      outputText: "Let me check Lisbon's weather.",
      toolCalls: [{ id: 'call_8k2p', name: 'get_weather', arguments: '{"city":"Lisbon","unit":"celsius"}', argumentsTruncated: false }],
      finishReasons: ['tool_calls'],
      inputTokens: 231,
      outputTokens: 38,
      usageSource: 'provider',
      complete: true,
    });
    for (const pieces of randomSplits(bytes, 50, 23)) expect(fold(c, pieces)).toEqual(whole);
  });

  it('folds a Mistral stream (usage unasked on the finishing chunk) and content given as parts', () => {
    const c: FoldCase = {
      authority: 'api.mistral.ai',
      path: '/v1/chat/completions',
      requestBody: JSON.stringify({ model: 'mistral-large-latest', stream: true }),
      responseContentType: 'text/event-stream',
    };
    expect(fold(c, [fixture('mistral-chat-stream.sse')])).toMatchObject({
      provider: 'mistral_ai',
      outputText: 'Je vérifie la météo à Lyon.',
      toolCalls: [{ id: 'D681PevKs', name: 'get_weather', arguments: '{"city": "Lyon"}' }],
      finishReasons: ['tool_calls'],
      inputTokens: 94,
      outputTokens: 27,
      complete: true,
    });
    const parts = {
      id: 'p1',
      object: 'chat.completion',
      model: 'magistral-medium-latest',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: [{ type: 'text', text: 'hmm' }] },
              { type: 'text', text: '42.' },
            ],
          },
          finish_reason: 'stop',
        },
      ],
    };
    expect(fold({ ...c, responseContentType: 'application/json' }, [Buffer.from(JSON.stringify(parts))])).toMatchObject({ outputText: '42.', finishReasons: ['stop'] });
  });
});

import { ExchangeFolder } from '../../../src/processing/genai/exchange-folder';
import { RequestFieldScanner } from '../../../src/processing/genai/request-field-scanner';
import { LIMITS } from './fold-helpers';
import { twoWaySplits, utf8 } from './chunking';

describe('ExchangeFolder', () => {
  it('returns undefined for exchanges that are not GenAI calls, and for non-POST methods', () => {
    const f = new ExchangeFolder({ authority: 'example.com', path: '/index.html', method: 'GET', limits: LIMITS });
    f.pushRequest(utf8('x'));
    f.pushResponse(utf8('<html>'));
    expect(f.recognised).toBe(false);
    expect(f.finish({ responseComplete: true })).toBeUndefined();
    const get = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/responses', method: 'GET', limits: LIMITS });
    expect(get.finish({ responseComplete: true })).toBeUndefined();
  });

  it('accepts the response info after request bytes and is idempotent on finish', () => {
    const f = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', requestContentType: 'application/json', limits: LIMITS });
    f.pushRequest(utf8('{"model":"gpt-4o","stream":true}'));
    f.setResponseInfo({ statusCode: 200, responseContentType: 'text/event-stream' });
    f.pushResponse(utf8('data: {"id":"c","model":"gpt-4o-x","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'));
    const a = f.finish({ responseComplete: true });
    expect(a).toMatchObject({ requestModel: 'gpt-4o', requestStream: true, outputText: 'hi', complete: true, statusCode: 200 });
    f.pushResponse(utf8('data: {"choices":[{"index":0,"delta":{"content":"more"}}]}\n\n'));
    expect(f.finish({ responseComplete: true })).toEqual(a);
  });

  it('counts a non-streaming body over maxJsonBodyBytes as oversized without buffering it', () => {
    const f = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', limits: { ...LIMITS, maxJsonBodyBytes: 100 } });
    f.setResponseInfo({ statusCode: 200, responseContentType: 'application/json' });
    for (let i = 0; i < 10; i++) f.pushResponse(utf8('{"padding":"' + 'x'.repeat(50) + '"}'));
    expect(f.finish({ responseComplete: true })).toMatchObject({ oversizedEvents: 1, eventCount: 0, usageSource: 'missing' });
  });

  it('names the failure of an error status even when the body is not JSON', () => {
    const f = new ExchangeFolder({ authority: 'api.anthropic.com', path: '/v1/messages', method: 'POST', limits: LIMITS });
    f.setResponseInfo({ statusCode: 502, responseContentType: 'text/html' });
    f.pushResponse(utf8('<html>Bad gateway</html>'));
    expect(f.finish({ responseComplete: true })).toMatchObject({ errorType: '502', malformedEvents: 1 });
  });

  it('rejects unusable limits with a stable code', () => {
    expect(() => new ExchangeFolder({ authority: 'a', path: '/', method: 'POST', limits: { ...LIMITS, maxEventBytes: 0 } })).toThrow(expect.objectContaining({ code: 'CAP_ERR_GENAI_LIMIT_INVALID' }));
  });
});

describe('RequestFieldScanner', () => {
  const scan = (pieces: Uint8Array[], limit?: number): RequestFieldScanner => {
    const s = new RequestFieldScanner(['model', 'stream', 'stream_options'], limit);
    for (const p of pieces) s.push(p);
    return s;
  };

  it('reads top-level members only, whatever nests or hides in strings, for every split', () => {
    const body = utf8(
      '{ "messages": [{"role":"user","content":"say \\"model\\": \\"fake\\", \\\\ {\\"stream\\": true}"}, {"model":"nested"}],\n' +
        '  "tools": [{"function": {"parameters": {"stream": {"type": "boolean"}}}}],\r\n' +
        '  "model" : "gpt-4o-mini", "stream_options": {"include_usage": true}, "temperature": 0.2, "stream": true }',
    );
    for (const pieces of twoWaySplits(body)) {
      const s = scan(pieces);
      expect([s.get('model'), s.get('stream'), s.get('stream_options')]).toEqual(['gpt-4o-mini', true, { include_usage: true }]);
    }
  });

  it('gives up on non-objects and stops at the scan limit', () => {
    expect(scan([utf8('[{"model":"x"}]')]).get('model')).toBeUndefined();
    const late = utf8(`{"messages":"${'x'.repeat(1000)}","model":"m"}`);
    expect(scan([late], 500).get('model')).toBeUndefined();
    expect(scan([late]).get('model')).toBe('m');
  });

  it('scans past a 20 MiB prompt to the fields after it', () => {
    const s = new RequestFieldScanner(['model', 'stream']);
    s.push(utf8('{"model":"llava","messages":[{"role":"user","images":["'));
    const chunk = utf8('QUJD'.repeat(16 * 1024));
    for (let i = 0; i < 320; i++) s.push(chunk);
    s.push(utf8('"]}],"stream":false}'));
    expect([s.get('model'), s.get('stream')]).toEqual(['llava', false]);
  });
});

describe('ExchangeFolder content-type sniffing', () => {
  it('recognises an event stream whose content type a proxy dropped', () => {
    const f = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', limits: LIMITS });
    f.setResponseInfo({ statusCode: 200, responseContentType: '' });
    f.pushResponse(utf8('data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"yo"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'));
    expect(f.finish({ responseComplete: true })).toMatchObject({ streaming: true, outputText: 'yo', complete: true });
  });
});

describe('ExchangeFolder tool-call cap', () => {
  it('keeps maxToolCalls calls and counts each dropped one once', () => {
    const f = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', limits: { ...LIMITS, maxToolCalls: 2 } });
    f.setResponseInfo({ statusCode: 200, responseContentType: 'text/event-stream' });
    for (let i = 0; i < 5; i++) {
      for (const part of ['{"a":', '1}']) {
        f.pushResponse(utf8(`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":${i},"id":"call_${i}","function":{"name":"f${i}","arguments":${JSON.stringify(part)}}}]}}]}\n\n`));
      }
    }
    const s = f.finish({ responseComplete: false })!;
    expect(s.toolCalls.map((t) => [t.id, t.arguments])).toEqual([
      ['call_0', '{"a":1}'],
      ['call_1', '{"a":1}'],
    ]);
    expect(s.toolCallsDropped).toBe(3);
  });
});

describe("Envoy's own token usage", () => {
  const envoyUsage = {
    protocol: 'openai_chat_completions',
    model: 'gpt-4o-mini-2024-07-18',
    inputTokens: 1187,
    outputTokens: 14,
    totalTokens: 1201,
    cachedInputTokens: 1024,
    cacheCreationInputTokens: null,
    toolUseInputTokens: null,
    reasoningTokens: 0,
    status: 'complete' as const,
  };
  const make = (authority: string): ExchangeFolder =>
    new ExchangeFolder({
      authority,
      path: '/v1/chat/completions',
      method: 'POST',
      statusCode: 200,
      responseContentType: 'text/event-stream',
      limits: { outputTextMaxBytes: 1024, maxEventBytes: 4096, toolArgsMaxBytes: 1024 },
    });

  it('fills the usage when no body was folded, and says it came from Envoy', () => {
    expect(make('api.openai.com').finish({ responseComplete: true, envoyUsage })).toMatchObject({
      provider: 'openai',
      responseModel: 'gpt-4o-mini-2024-07-18',
      inputTokens: 1187,
      outputTokens: 14,
      cachedInputTokens: 1024,
      reasoningTokens: 0,
      usageSource: 'envoy',
      eventCount: 0,
      complete: true,
    });
    expect(make('api.openai.com').finish({ responseComplete: true, envoyUsage: { ...envoyUsage, status: 'partial' } })).toMatchObject({ usageSource: 'envoy_partial', complete: false });
    expect(make('api.openai.com').finish({ responseComplete: true, envoyUsage: { ...envoyUsage, status: 'failed' } })).toMatchObject({ usageSource: 'envoy_failed', inputTokens: null });
  });

  it('confirms a path-only detection on an unknown host, and loses to usage read from the body', () => {
    expect(make('vllm.internal:8000').finish({ responseComplete: true })).toBeUndefined();
    expect(make('vllm.internal:8000').finish({ responseComplete: true, envoyUsage })).toMatchObject({ provider: 'openai_compatible', usageSource: 'envoy' });
    const folded = make('api.openai.com');
    folded.pushResponse(Buffer.from('data: {"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\ndata: [DONE]\n\n'));
    expect(folded.finish({ responseComplete: true, envoyUsage })).toMatchObject({ usageSource: 'provider', inputTokens: 5, outputTokens: 2, responseModel: 'm' });
  });
});

import { fixture, fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits } from './chunking';

const responses: FoldCase = {
  authority: 'api.openai.com',
  path: '/v1/responses',
  requestBody: JSON.stringify({ model: 'gpt-4.1', input: 'Find orders for C-1042', tools: [{ type: 'function', name: 'search_orders' }], stream: true }),
  responseContentType: 'text/event-stream',
};

describe('OpenAI Responses folding', () => {
  it('folds text deltas, function call arguments and response.completed usage, for every split', () => {
    const bytes = fixture('openai-responses-stream.sse');
    const whole = fold(responses, [bytes]);
    expect(whole).toMatchObject({
      provider: 'openai',
      api: 'openai_responses',
      requestModel: 'gpt-4.1',
      requestStream: true,
      responseModel: 'gpt-4.1-2025-04-14',
      responseId: 'resp_68a1f0',
      outputText: "I'll look that up for you.",
      toolCalls: [{ id: 'call_Qm3z', name: 'search_orders', arguments: '{"customer":"C-1042"}', argumentsTruncated: false }],
      inputTokens: 318,
      cachedInputTokens: 128,
      outputTokens: 41,
      reasoningTokens: 16,
      usageSource: 'provider',
      finishReasons: ['completed'],
      eventCount: 12,
      endMarkerSeen: true,
      complete: true,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(responses, pieces)).toEqual(whole);
    for (const pieces of randomSplits(bytes, 100, 53)) expect(fold(responses, pieces)).toEqual(whole);
  });

  it('still has the text and arguments when a delta event was oversized', () => {
    // maxEventBytes small enough to drop response.completed (the largest event) but not the deltas.
    const s = fold({ ...responses, limits: { maxEventBytes: 400 } }, [fixture('openai-responses-stream.sse')])!;
    expect(s).toMatchObject({ outputText: "I'll look that up for you.", oversizedEvents: 1, usageSource: 'missing', endMarkerSeen: false, complete: false });
    expect(s.toolCalls[0]!.arguments).toBe('{"customer":"C-1042"}');
  });

  it('records response.failed, response.incomplete and error events', () => {
    const ev = (type: string, data: object): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const failed = fold(responses, [
      Buffer.from(
        ev('response.created', { response: { id: 'resp_1', model: 'gpt-4.1' } }) +
          ev('response.failed', { response: { id: 'resp_1', status: 'failed', error: { code: 'server_error', message: 'The model failed.' } } }),
      ),
    ])!;
    expect(failed).toMatchObject({ errorType: 'server_error', errorMessage: 'The model failed.', finishReasons: ['failed'], endMarkerSeen: true });
    const incomplete = fold(responses, [
      Buffer.from(
        ev('response.output_text.delta', { output_index: 0, delta: 'Once upon' }) +
          ev('response.incomplete', { response: { id: 'resp_2', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 5, output_tokens: 16 } } }),
      ),
    ])!;
    expect(incomplete).toMatchObject({ outputText: 'Once upon', finishReasons: ['max_output_tokens'], outputTokens: 16 });
    const error = fold(responses, [Buffer.from(ev('error', { code: 'rate_limit_exceeded', message: 'Slow down', param: null }))])!;
    expect(error).toMatchObject({ errorType: 'rate_limit_exceeded', errorMessage: 'Slow down' });
  });

  it('folds a non-streaming response object', () => {
    const body = {
      id: 'resp_9',
      object: 'response',
      status: 'completed',
      model: 'o4-mini-2025-04-16',
      output: [
        { id: 'rs_1', type: 'reasoning', summary: [] },
        { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Paris.', annotations: [] }] },
      ],
      usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 140, output_tokens_details: { reasoning_tokens: 128 }, total_tokens: 152 },
    };
    expect(fold({ ...responses, responseContentType: 'application/json' }, [Buffer.from(JSON.stringify(body))])).toMatchObject({
      streaming: false,
      responseModel: 'o4-mini-2025-04-16',
      outputText: 'Paris.',
      reasoningTokens: 128,
      outputTokens: 140,
      finishReasons: ['completed'],
      complete: true,
    });
  });
});

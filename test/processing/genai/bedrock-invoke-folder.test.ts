import { bedrockAnthropicInvokeStream, bedrockException, bedrockInvokeChunk } from './eventstream-encoder';
import { fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits, utf8 } from './chunking';

const claudeStream: FoldCase = {
  authority: 'bedrock-runtime.us-west-2.amazonaws.com',
  path: '/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke-with-response-stream',
  requestBody: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 400, messages: [{ role: 'user', content: 'Tides in Tromsø?' }] }),
  responseContentType: 'application/vnd.amazon.eventstream',
};

describe('Bedrock InvokeModel folding', () => {
  it('folds Claude chunks of InvokeModelWithResponseStream identically for every split', () => {
    const bytes = bedrockAnthropicInvokeStream();
    const whole = fold(claudeStream, [bytes]);
    expect(whole).toMatchObject({
      provider: 'aws.bedrock',
      api: 'bedrock_invoke_stream',
      operation: 'chat',
      requestModel: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
      responseModel: 'claude-3-7-sonnet-20250219',
      responseId: 'msg_bdrk_01R5pbFzMJQ1',
      streaming: true,
      outputText: 'Fetching the tide table for Tromsø.',
      toolCalls: [{ id: 'toolu_bdrk_01A09q90qw90lq917835lq9', name: 'get_tides', arguments: '{"port": "Tromsø"}', argumentsTruncated: false }],
      finishReasons: ['tool_use'],
      inputTokens: 512,
      outputTokens: 58,
      usageSource: 'provider',
      eventCount: 11,
      malformedEvents: 0,
      endMarkerSeen: true,
      complete: true,
    });
    for (const pieces of randomSplits(bytes, 200, 97)) expect(fold(claudeStream, pieces)).toEqual(whole);
    const head = bytes.subarray(0, 400);
    for (const pieces of twoWaySplits(head)) expect(fold(claudeStream, pieces, false)).toEqual(fold(claudeStream, [head], false));
  });

  it('folds Llama chunks, with usage from the chunks and the stop reason at the end', () => {
    const c: FoldCase = { ...claudeStream, path: '/model/meta.llama3-1-70b-instruct-v1%3A0/invoke-with-response-stream', requestBody: JSON.stringify({ prompt: 'Hi', max_gen_len: 64 }) };
    const bytes = Buffer.concat([
      bedrockInvokeChunk({ generation: 'Hello', prompt_token_count: 17, generation_token_count: 1, stop_reason: null }),
      bedrockInvokeChunk({ generation: ' there!', prompt_token_count: null, generation_token_count: 3, stop_reason: null }),
      bedrockInvokeChunk({
        generation: '',
        prompt_token_count: null,
        generation_token_count: 4,
        stop_reason: 'stop',
        'amazon-bedrock-invocationMetrics': { inputTokenCount: 17, outputTokenCount: 4, invocationLatency: 300, firstByteLatency: 120 },
      }),
    ]);
    expect(fold(c, [bytes])).toMatchObject({ requestModel: 'meta.llama3-1-70b-instruct-v1:0', outputText: 'Hello there!', finishReasons: ['stop'], inputTokens: 17, outputTokens: 4, complete: true });
    // Cut before the last chunk: no end, no stop reason.
    expect(fold(c, [bytes.subarray(0, bytes.length - 10)], false)).toMatchObject({ finishReasons: [], endMarkerSeen: false, complete: false, outputText: 'Hello there!' });
  });

  it('folds Titan text chunks', () => {
    const c: FoldCase = { ...claudeStream, path: '/model/amazon.titan-text-express-v1/invoke-with-response-stream', requestBody: JSON.stringify({ inputText: 'Hi' }) };
    const bytes = Buffer.concat([
      bedrockInvokeChunk({ outputText: 'Good ', index: 0, totalOutputTextTokenCount: 2, completionReason: null, inputTextTokenCount: 5 }),
      bedrockInvokeChunk({
        outputText: 'morning.',
        index: 0,
        totalOutputTextTokenCount: 4,
        completionReason: 'FINISH',
        inputTextTokenCount: null,
        'amazon-bedrock-invocationMetrics': { inputTokenCount: 5, outputTokenCount: 4 },
      }),
    ]);
    expect(fold(c, [bytes])).toMatchObject({ outputText: 'Good morning.', finishReasons: ['FINISH'], inputTokens: 5, outputTokens: 4, complete: true });
  });

  it('records an exception frame mid-stream', () => {
    const bytes = Buffer.concat([
      bedrockInvokeChunk({ generation: 'Hel', prompt_token_count: 3, generation_token_count: 1, stop_reason: null }),
      bedrockException('modelStreamErrorException', 'Model stream failed.'),
    ]);
    expect(fold({ ...claudeStream, path: '/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream' }, [bytes])).toMatchObject({
      errorType: 'modelStreamErrorException',
      errorMessage: 'Model stream failed.',
      complete: false,
    });
  });

  it('folds whole InvokeModel bodies of each family', () => {
    const invoke = (model: string): FoldCase => ({ ...claudeStream, path: `/model/${model}/invoke`, responseContentType: 'application/json' });
    const claude = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: 'Yes.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 12, cache_read_input_tokens: 100, output_tokens: 2 },
    };
    expect(fold(invoke('anthropic.claude-3-5-haiku-20241022-v1%3A0'), [utf8(JSON.stringify(claude))])).toMatchObject({
      api: 'bedrock_invoke',
      streaming: false,
      outputText: 'Yes.',
      finishReasons: ['end_turn'],
      inputTokens: 112,
      cachedInputTokens: 100,
      outputTokens: 2,
    });
    const llama = { generation: 'Sure thing.', prompt_token_count: 9, generation_token_count: 4, stop_reason: 'stop' };
    expect(fold(invoke('meta.llama3-8b-instruct-v1%3A0'), [utf8(JSON.stringify(llama))])).toMatchObject({ outputText: 'Sure thing.', finishReasons: ['stop'], inputTokens: 9, outputTokens: 4 });
    const titan = { inputTextTokenCount: 6, results: [{ tokenCount: 3, outputText: 'Hi there.', completionReason: 'FINISH' }] };
    expect(fold(invoke('amazon.titan-text-lite-v1'), [utf8(JSON.stringify(titan))])).toMatchObject({ outputText: 'Hi there.', finishReasons: ['FINISH'], inputTokens: 6, outputTokens: 3 });
    const mistral = { outputs: [{ text: 'Bonjour.', stop_reason: 'stop' }] };
    expect(fold(invoke('mistral.mistral-large-2402-v1%3A0'), [utf8(JSON.stringify(mistral))])).toMatchObject({ outputText: 'Bonjour.', finishReasons: ['stop'], usageSource: 'missing' });
    const error = fold({ ...invoke('meta.llama3-8b-instruct-v1%3A0'), statusCode: 400, awsErrorType: 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }, [
      utf8(JSON.stringify({ message: 'Malformed input request.' })),
    ]);
    expect(error).toMatchObject({ errorType: 'ValidationException', errorMessage: 'Malformed input request.' });
  });
});

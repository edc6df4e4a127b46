import { bedrockEvent, bedrockException, encodeMessage } from './eventstream-encoder';
import { fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits } from './chunking';

const converseStream: FoldCase = {
  authority: 'bedrock-runtime.eu-central-1.amazonaws.com',
  path: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream',
  requestBody: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Weather in Oslo?' }] }], inferenceConfig: { maxTokens: 512 } }),
  responseContentType: 'application/vnd.amazon.eventstream',
};

// Written from the ConverseStream API reference: text block, then a toolUse block streamed as input fragments.
const stream = Buffer.concat([
  bedrockEvent('messageStart', { p: 'abcd', role: 'assistant' }),
  bedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Checking the ' }, p: 'abcdef' }),
  bedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'forecast for Oslo ❄️.' }, p: 'ab' }),
  bedrockEvent('contentBlockStop', { contentBlockIndex: 0, p: 'abcdefgh' }),
  bedrockEvent('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_forecast' } }, p: 'a' }),
  bedrockEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } }, p: 'abc' }),
  bedrockEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Oslo","days":2}' } }, p: 'abcd' }),
  bedrockEvent('contentBlockStop', { contentBlockIndex: 1, p: 'ab' }),
  bedrockEvent('messageStop', { stopReason: 'tool_use', p: 'abcdefghij' }),
  bedrockEvent('metadata', { usage: { inputTokens: 410, outputTokens: 62, totalTokens: 1496, cacheReadInputTokens: 1024, cacheWriteInputTokens: 0 }, metrics: { latencyMs: 1350 }, p: 'ab' }),
]);

describe('Bedrock Converse folding', () => {
  it('folds a ConverseStream eventstream, identically for every split', () => {
    const whole = fold(converseStream, [stream]);
    expect(whole).toMatchObject({
      provider: 'aws.bedrock',
      api: 'bedrock_converse_stream',
      requestModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
      responseModel: null,
      streaming: true,
      outputText: 'Checking the forecast for Oslo ❄️.',
      toolCalls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'get_forecast', arguments: '{"city":"Oslo","days":2}', argumentsTruncated: false }],
      finishReasons: ['tool_use'],
      inputTokens: 1434,
      cachedInputTokens: 1024,
      cacheCreationInputTokens: 0,
      outputTokens: 62,
      usageSource: 'provider',
      eventCount: 10,
      badFrames: 0,
      endMarkerSeen: true,
      complete: true,
    });
    for (const pieces of twoWaySplits(stream)) expect(fold(converseStream, pieces)).toEqual(whole);
    for (const pieces of randomSplits(stream, 100, 61)) expect(fold(converseStream, pieces)).toEqual(whole);
  });

  it('counts a corrupted frame and is not complete when the stream is cut before metadata', () => {
    const frames = Buffer.from(stream);
    // Flip a payload byte of the second frame (first text delta).
    const firstLen = frames.readUInt32BE(0);
    frames[firstLen + 40] ^= 0x20;
    const s = fold(converseStream, [frames])!;
    expect(s.badFrames).toBe(1);
    expect(s.outputText).toBe('forecast for Oslo ❄️.');
    const metadataStart =
      stream.length -
      bedrockEvent('metadata', { usage: { inputTokens: 410, outputTokens: 62, totalTokens: 1496, cacheReadInputTokens: 1024, cacheWriteInputTokens: 0 }, metrics: { latencyMs: 1350 }, p: 'ab' })
        .length;
    const cut = fold(converseStream, [stream.subarray(0, metadataStart + 20)], false)!;
    expect(cut).toMatchObject({ finishReasons: ['tool_use'], usageSource: 'missing', endMarkerSeen: false, complete: false });
  });

  it('records exception frames', () => {
    const s = fold(converseStream, [
      Buffer.concat([bedrockEvent('messageStart', { role: 'assistant' }), bedrockException('throttlingException', 'Too many requests, please wait before trying again.')]),
    ])!;
    expect(s).toMatchObject({ errorType: 'throttlingException', errorMessage: 'Too many requests, please wait before trying again.', complete: false });
    const e = fold(converseStream, [encodeMessage({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'boom' }, '')])!;
    expect(e).toMatchObject({ errorType: 'InternalFailure', errorMessage: 'boom' });
  });

  it('folds non-streaming Converse and its error body', () => {
    const c: FoldCase = { ...converseStream, path: '/model/amazon.nova-lite-v1%3A0/converse', responseContentType: 'application/json' };
    const body = {
      output: { message: { role: 'assistant', content: [{ text: 'Sure.' }, { toolUse: { toolUseId: 'tooluse_1', name: 'f', input: { a: 1 } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 8, totalTokens: 28 },
      metrics: { latencyMs: 300 },
    };
    expect(fold(c, [Buffer.from(JSON.stringify(body))])).toMatchObject({
      api: 'bedrock_converse',
      requestModel: 'amazon.nova-lite-v1:0',
      streaming: false,
      outputText: 'Sure.',
      toolCalls: [{ id: 'tooluse_1', name: 'f', arguments: '{"a":1}', argumentsTruncated: false }],
      inputTokens: 20,
      outputTokens: 8,
      finishReasons: ['tool_use'],
      complete: true,
    });
    const err = fold({ ...c, statusCode: 400, awsErrorType: 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }, [
      Buffer.from('{"message":"The provided model identifier is invalid."}'),
    ]);
    expect(err).toMatchObject({ errorType: 'ValidationException', errorMessage: 'The provided model identifier is invalid.', statusCode: 400 });
  });
});

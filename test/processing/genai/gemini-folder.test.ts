import { fixture, fold, type FoldCase } from './fold-helpers';
import { randomSplits, twoWaySplits, utf8 } from './chunking';

const request = JSON.stringify({
  contents: [{ role: 'user', parts: [{ text: 'Weather in Oslo?' }] }],
  tools: [{ functionDeclarations: [{ name: 'get_forecast', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] }],
});

const sseCase: FoldCase = {
  authority: 'generativelanguage.googleapis.com',
  path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
  requestBody: request,
  responseContentType: 'text/event-stream',
};
const arrayCase: FoldCase = { ...sseCase, path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent', responseContentType: 'application/json; charset=UTF-8' };
const bodyCase: FoldCase = { ...sseCase, path: '/v1beta/models/gemini-2.5-flash:generateContent', responseContentType: 'application/json; charset=UTF-8' };

// What the stream fixtures fold to: thoughts are not output text, usage from the last chunk.
const folded = {
  provider: 'gcp.gemini',
  api: 'gemini_generate_content',
  operation: 'generate_content',
  requestModel: 'gemini-2.5-flash',
  responseModel: 'gemini-2.5-flash',
  responseId: 'Qk1zaNOhB7SLz7IPp4yV4Ao',
  streaming: true,
  outputText: 'The forecast for Oslo is snow ❄️ — fetching details.',
  toolCalls: [{ id: '', name: 'get_forecast', arguments: '{"city":"Oslo","days":2}', argumentsTruncated: false }],
  finishReasons: ['STOP'],
  // prompt 1210 (cached 1024 included) + 12 tool-use prompt tokens; output 35 + 80 thinking.
  inputTokens: 1222,
  outputTokens: 115,
  cachedInputTokens: 1024,
  reasoningTokens: 80,
  cacheCreationInputTokens: null,
  usageSource: 'provider',
  eventCount: 4,
  malformedEvents: 0,
  errorType: null,
  endMarkerSeen: true,
  complete: true,
};

describe('Gemini API folding', () => {
  it('folds an alt=sse stream identically for every split', () => {
    const bytes = fixture('gemini-stream.sse');
    const whole = fold(sseCase, [bytes]);
    expect(whole).toMatchObject(folded);
    for (const pieces of twoWaySplits(bytes)) expect(fold(sseCase, pieces)).toEqual(whole);
  });

  it('folds the JSON array stream (no alt=sse) element by element, the same as the SSE one', () => {
    const bytes = fixture('gemini-stream-array.json');
    const whole = fold(arrayCase, [bytes]);
    expect(whole).toMatchObject(folded);
    for (const pieces of twoWaySplits(bytes)) expect(fold(arrayCase, pieces)).toEqual(whole);
    for (const pieces of randomSplits(bytes, 50, 37)) expect(fold(arrayCase, pieces)).toEqual(whole);
  });

  it('is not complete when the stream is cut before the finish reason, and keeps what arrived', () => {
    const bytes = fixture('gemini-stream-array.json');
    const cut = fold(arrayCase, [bytes.subarray(0, Math.floor(bytes.length * 0.7))], false)!;
    expect(cut).toMatchObject({ outputText: 'The forecast for Oslo is snow ❄️ — fetching details.', finishReasons: [], endMarkerSeen: false, complete: false, inputTokens: 1210, outputTokens: 92 });
    const sse = fixture('gemini-stream.sse');
    expect(fold(sseCase, [sse.subarray(0, sse.length - 40)], false)).toMatchObject({ endMarkerSeen: false, complete: false, toolCalls: [] });
  });

  it('counts an element larger than the event limit as oversized and folds the rest', () => {
    const bytes = fixture('gemini-stream-array.json');
    const s = fold({ ...arrayCase, limits: { maxEventBytes: 500 } }, [bytes])!;
    expect(s.oversizedEvents).toBeGreaterThan(0);
    expect(s.eventCount + s.oversizedEvents).toBe(4);
  });

  it('folds a whole generateContent body: every candidate finish reason, text from the first', () => {
    const body = {
      candidates: [
        { content: { role: 'model', parts: [{ text: 'Bergen: rain.' }, { functionCall: { id: 'fc-1', name: 'log', args: {} } }] }, finishReason: 'STOP', index: 0 },
        { content: { role: 'model', parts: [{ text: 'Other answer' }] }, finishReason: 'MAX_TOKENS', index: 1 },
      ],
      usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 14, totalTokenCount: 23 },
      modelVersion: 'gemini-2.0-flash-001',
      responseId: 'r-1',
    };
    expect(fold(bodyCase, [utf8(JSON.stringify(body))])).toMatchObject({
      streaming: false,
      outputText: 'Bergen: rain.',
      toolCalls: [{ id: 'fc-1', name: 'log', arguments: '{}' }],
      finishReasons: ['STOP', 'MAX_TOKENS'],
      inputTokens: 9,
      outputTokens: 14,
      reasoningTokens: null,
      cachedInputTokens: null,
      responseModel: 'gemini-2.0-flash-001',
      errorType: null,
    });
  });

  it('records a blocked prompt and a blocked answer as provider errors', () => {
    const blockedPrompt = { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 }, modelVersion: 'gemini-2.5-flash' };
    expect(fold(bodyCase, [utf8(JSON.stringify(blockedPrompt))])).toMatchObject({
      errorType: 'PROHIBITED_CONTENT',
      errorMessage: 'prompt blocked (PROHIBITED_CONTENT)',
      outputText: '',
      finishReasons: [],
      inputTokens: 7,
      outputTokens: null,
    });
    const blockedAnswer = `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Partial' }] }, index: 0 }] })}\r\n\r\ndata: ${JSON.stringify({
      candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }],
      usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 3, totalTokenCount: 23 },
    })}\r\n\r\n`;
    expect(fold(sseCase, [utf8(blockedAnswer)])).toMatchObject({ errorType: 'SAFETY', errorMessage: 'response blocked (SAFETY)', finishReasons: ['SAFETY'], outputText: 'Partial', complete: true });
  });

  it('records error bodies and an error inside the array stream', () => {
    const error = { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } };
    expect(fold({ ...bodyCase, statusCode: 429 }, [utf8(JSON.stringify(error))])).toMatchObject({
      statusCode: 429,
      errorType: 'RESOURCE_EXHAUSTED',
      errorMessage: 'Resource has been exhausted (e.g. check quota).',
    });
    expect(fold({ ...arrayCase, statusCode: 503 }, [utf8(`[${JSON.stringify({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } })}\n]`)])).toMatchObject({
      errorType: 'UNAVAILABLE',
      errorMessage: 'The model is overloaded.',
      complete: false,
    });
  });

  it('records countTokens without usage (a prediction, not tokens spent) and embedContent', () => {
    const count = fold({ ...bodyCase, path: '/v1beta/models/gemini-2.5-flash:countTokens' }, [utf8(JSON.stringify({ totalTokens: 31, cachedContentTokenCount: 0 }))]);
    expect(count).toMatchObject({ api: 'gemini_count_tokens', operation: 'count_tokens', inputTokens: null, usageSource: 'missing', errorType: null, eventCount: 1 });
    const embed = fold({ ...bodyCase, path: '/v1beta/models/gemini-embedding-001:embedContent' }, [utf8(JSON.stringify({ embedding: { values: [0.013, -0.008, 0.02] } }))]);
    expect(embed).toMatchObject({ api: 'gemini_embed_content', operation: 'embeddings', requestModel: 'gemini-embedding-001', outputText: '', inputTokens: null, errorType: null });
  });
});

describe('Vertex AI folding', () => {
  const vertexPath = '/v1/projects/acme-prod/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse';

  it('folds Gemini on Vertex as gcp.vertex_ai', () => {
    const s = fold({ ...sseCase, authority: 'us-central1-aiplatform.googleapis.com', path: vertexPath }, [fixture('gemini-stream.sse')]);
    expect(s).toMatchObject({ ...folded, provider: 'gcp.vertex_ai' });
  });

  it('folds Anthropic on Vertex (streamRawPredict) with the model from the path, identically for every split', () => {
    const c: FoldCase = {
      authority: 'us-east5-aiplatform.googleapis.com',
      path: '/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict',
      requestBody: JSON.stringify({ anthropic_version: 'vertex-2023-10-16', stream: true, max_tokens: 512, messages: [{ role: 'user', content: 'Weather in Zürich?' }] }),
      responseContentType: 'text/event-stream; charset=utf-8',
    };
    const bytes = fixture('vertex-anthropic-stream.sse');
    const whole = fold(c, [bytes]);
    expect(whole).toMatchObject({
      provider: 'gcp.vertex_ai',
      api: 'anthropic_messages',
      operation: 'chat',
      requestModel: 'claude-sonnet-4@20250514',
      requestStream: true,
      responseModel: 'claude-sonnet-4-20250514',
      responseId: 'msg_vrtx_01Kq8ZyWbV3c',
      outputText: "I'll look up the Zürich forecast.",
      toolCalls: [{ id: 'toolu_vrtx_01D7FLrfh4GYq7yT1ULmeyLh', name: 'get_forecast', arguments: '{"city": "Zürich", "days": 3}', argumentsTruncated: false }],
      finishReasons: ['tool_use'],
      inputTokens: 388,
      outputTokens: 71,
      complete: true,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(c, pieces)).toEqual(whole);
  });
});

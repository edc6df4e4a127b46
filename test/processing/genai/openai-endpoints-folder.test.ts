import { fixture, fold, type FoldCase } from './fold-helpers';
import { utf8 } from './chunking';

const openai = (path: string, responseContentType = 'application/json'): FoldCase => ({ authority: 'api.openai.com', path, responseContentType });

describe('OpenAI embeddings, moderations, images and audio', () => {
  it('records embeddings usage and model', () => {
    const body = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.0023, -0.0093] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } };
    const c = { ...openai('/v1/embeddings'), requestBody: JSON.stringify({ model: 'text-embedding-3-small', input: 'The food was delicious' }) };
    expect(fold(c, [utf8(JSON.stringify(body))])).toMatchObject({
      api: 'openai_embeddings',
      operation: 'embeddings',
      requestModel: 'text-embedding-3-small',
      responseModel: 'text-embedding-3-small',
      inputTokens: 8,
      outputTokens: null,
      outputText: '',
      usageSource: 'provider',
    });
  });

  it('records a moderation without usage', () => {
    const body = { id: 'modr-970d409ef3bef3b70c73d8232df86e7d', model: 'omni-moderation-latest', results: [{ flagged: false, categories: { violence: false } }] };
    expect(fold(openai('/v1/moderations'), [utf8(JSON.stringify(body))])).toMatchObject({
      operation: 'moderation',
      responseId: 'modr-970d409ef3bef3b70c73d8232df86e7d',
      responseModel: 'omni-moderation-latest',
      usageSource: 'missing',
      malformedEvents: 0,
    });
  });

  it('records image generation token usage, whole and streamed', () => {
    const body = {
      created: 1713833628,
      data: [{ b64_json: 'iVBORw0KGgo=' }],
      usage: { total_tokens: 4210, input_tokens: 50, output_tokens: 4160, input_tokens_details: { text_tokens: 50, image_tokens: 0 } },
    };
    expect(fold(openai('/v1/images/generations'), [utf8(JSON.stringify(body))])).toMatchObject({ operation: 'image_generation', inputTokens: 50, outputTokens: 4160 });
    const stream =
      `event: image_generation.partial_image\ndata: ${JSON.stringify({ type: 'image_generation.partial_image', b64_json: 'iVBO', partial_image_index: 0 })}\n\n` +
      `event: image_generation.completed\ndata: ${JSON.stringify({ type: 'image_generation.completed', b64_json: 'iVBORw0K', usage: { total_tokens: 300, input_tokens: 40, output_tokens: 260, input_tokens_details: { text_tokens: 40, image_tokens: 0 } } })}\n\n`;
    expect(fold(openai('/v1/images/generations', 'text/event-stream'), [utf8(stream)])).toMatchObject({ streaming: true, inputTokens: 40, outputTokens: 260, eventCount: 2, complete: true });
  });

  it('folds a transcription, whole and streamed, and leaves speech audio alone', () => {
    const body = { text: 'Imagine the wildest idea.', usage: { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 } };
    expect(fold(openai('/v1/audio/transcriptions'), [utf8(JSON.stringify(body))])).toMatchObject({
      operation: 'transcription',
      outputText: 'Imagine the wildest idea.',
      inputTokens: 14,
      outputTokens: 45,
    });
    const whisper = { text: 'Hello.', usage: { type: 'duration', seconds: 3 } };
    expect(fold(openai('/v1/audio/translations'), [utf8(JSON.stringify(whisper))])).toMatchObject({ operation: 'translation', outputText: 'Hello.', usageSource: 'missing' });
    const stream =
      `data: ${JSON.stringify({ type: 'transcript.text.delta', delta: 'Imagine the' })}\n\n` +
      `data: ${JSON.stringify({ type: 'transcript.text.delta', delta: ' wildest idea.' })}\n\n` +
      `data: ${JSON.stringify({ type: 'transcript.text.done', text: 'Imagine the wildest idea.', usage: { type: 'tokens', input_tokens: 14, output_tokens: 45, total_tokens: 59 } })}\n\n`;
    expect(fold(openai('/v1/audio/transcriptions', 'text/event-stream'), [utf8(stream)])).toMatchObject({ outputText: 'Imagine the wildest idea.', inputTokens: 14, outputTokens: 45, complete: true });
    const speech = fold(openai('/v1/audio/speech', 'audio/mpeg'), [new Uint8Array([0xff, 0xf3, 0x44, 0xc4, 0x00])]);
    expect(speech).toMatchObject({ operation: 'speech', streaming: false, malformedEvents: 0, usageSource: 'missing', eventCount: 0 });
  });
});

describe('OpenAI-compatible servers on unknown hosts', () => {
  const unknown: FoldCase = {
    authority: 'vllm.ml.internal:8000',
    path: '/v1/chat/completions',
    requestBody: JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', stream: true }),
    responseContentType: 'text/event-stream',
  };

  it('folds an OpenAI-shaped stream as openai_compatible without any mapping', () => {
    expect(fold(unknown, [fixture('openai-chat-stream.sse')])).toMatchObject({
      provider: 'openai_compatible',
      api: 'openai_chat_completions',
      requestModel: 'meta-llama/Llama-3.1-8B-Instruct',
      usageSource: 'provider',
      complete: true,
    });
    const body = { id: 'cmpl-1', object: 'chat.completion', model: 'qwen2.5', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }] };
    expect(fold({ ...unknown, responseContentType: 'application/json' }, [utf8(JSON.stringify(body))])).toMatchObject({ provider: 'openai_compatible', outputText: 'Hi', finishReasons: ['stop'] });
  });

  it('is not a model call when the response is not a chat completion', () => {
    expect(fold({ ...unknown, responseContentType: 'application/json' }, [utf8(JSON.stringify({ status: 'ok', items: [] }))])).toBeUndefined();
    expect(fold({ ...unknown, statusCode: 404, responseContentType: 'application/json' }, [utf8(JSON.stringify({ error: { message: 'not found' } }))])).toBeUndefined();
    expect(fold({ ...unknown, responseContentType: 'text/html' }, [utf8('<html>login</html>')])).toBeUndefined();
  });
});

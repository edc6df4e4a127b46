import { NdjsonParser } from '../../../src/processing/genai/ndjson-parser';
import { fixture, fold, type FoldCase } from './fold-helpers';
import { twoWaySplits, utf8 } from './chunking';

const ollama: FoldCase = {
  authority: 'localhost:11434',
  path: '/api/chat',
  requestBody: JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'Why is the sky blue?' }] }),
  responseContentType: 'application/x-ndjson',
};

describe('Ollama chat folding', () => {
  it('folds NDJSON deltas and the final done line, for every split', () => {
    const bytes = fixture('ollama-chat-stream.ndjson');
    const whole = fold(ollama, [bytes]);
    expect(whole).toMatchObject({
      provider: 'ollama',
      api: 'ollama_chat',
      requestModel: 'llama3.2:3b',
      // Ollama streams by default; the request did not say.
      requestStream: null,
      responseModel: 'llama3.2:3b',
      responseId: null,
      streaming: true,
      outputText: 'The sky is blue because of Rayleigh scattering ☁️.',
      inputTokens: 26,
      outputTokens: 11,
      usageSource: 'provider',
      finishReasons: ['stop'],
      eventCount: 4,
      endMarkerSeen: true,
      complete: true,
    });
    for (const pieces of twoWaySplits(bytes)) expect(fold(ollama, pieces)).toEqual(whole);
  });

  it('folds a non-streaming reply with tool calls, and a mid-stream error line', () => {
    const body = {
      model: 'qwen3:8b',
      message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Lima' } } }] },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 80,
      eval_count: 20,
    };
    expect(fold({ ...ollama, responseContentType: 'application/json; charset=utf-8' }, [utf8(JSON.stringify(body))])).toMatchObject({
      streaming: false,
      toolCalls: [{ id: '', name: 'get_weather', arguments: '{"city":"Lima"}', argumentsTruncated: false }],
      inputTokens: 80,
      outputTokens: 20,
    });
    const s = fold(ollama, [utf8('{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}\n{"error":"an error was encountered while running the model"}\n')])!;
    expect(s).toMatchObject({ outputText: 'Hi', errorMessage: 'an error was encountered while running the model', complete: false });
  });
});

describe('NdjsonParser', () => {
  it('handles CRLF, blank lines, a last line without LF, bad and oversized lines', () => {
    const values: unknown[] = [];
    const p = new NdjsonParser({ maxLineBytes: 20, onValue: (v) => values.push(v) });
    for (const b of utf8('{"a":1}\r\n\n  \nnot json\n{"big":"xxxxxxxxxxxxxxxxxxxxxxxx"}\n[2]\n{"end":true}')) p.push(Uint8Array.of(b));
    p.end();
    expect(values).toEqual([{ a: 1 }, [2], { end: true }]);
    expect(p.stats).toMatchObject({ values: 3, invalidLines: 1, oversizedLines: 1 });
  });
});

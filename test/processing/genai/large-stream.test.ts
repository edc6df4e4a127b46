/**
 * The memory criterion at library level: a 50 MiB SSE response is
 * folded with heap growth bounded by the folded state, not the stream, and
 * the usage sent in its very last event is found.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExchangeFolder } from '../../../src/processing/genai/exchange-folder';

// A real gc() so heap figures measure live objects, not garbage awaiting collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('folding a 50 MiB SSE stream', () => {
  it('keeps memory bounded and finds the usage in the last event', () => {
    const limits = { outputTextMaxBytes: 64 * 1024, maxEventBytes: 64 * 1024, toolArgsMaxBytes: 16 * 1024 };
    const event = (content: string): string =>
      `data: {"id":"chatcmpl-big","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`;
    // One block of events, pushed again and again, split at an offset that never lines up with an event.
    const block = Buffer.from(Array.from({ length: 400 }, (_, i) => event(`tok${i % 10} `)).join(''));
    const target = 50 * 1024 * 1024;
    const blocks = Math.ceil(target / block.length);

    const f = new ExchangeFolder({ authority: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', requestContentType: 'application/json', limits });
    f.pushRequest(Buffer.from('{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}'));
    f.setResponseInfo({ statusCode: 200, responseContentType: 'text/event-stream' });

    const before = heap();
    let peak = 0;
    let pushed = 0;
    for (let i = 0; i < blocks; i++) {
      const cut = 1 + ((i * 7919) % (block.length - 1));
      f.pushResponse(block.subarray(0, cut));
      f.pushResponse(block.subarray(cut));
      pushed += block.length;
      if (i % Math.ceil(blocks / 8) === 0) peak = Math.max(peak, heap() - before);
    }
    const tail =
      'data: {"id":"chatcmpl-big","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n' +
      'data: {"id":"chatcmpl-big","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":987654,"total_tokens":987666}}\n\n' +
      'data: [DONE]\n\n';
    f.pushResponse(Buffer.from(tail));
    pushed += tail.length;
    const summary = f.finish({ responseComplete: true })!;
    peak = Math.max(peak, heap() - before);

    expect(pushed).toBeGreaterThanOrEqual(target);
    expect(summary).toMatchObject({
      inputTokens: 12,
      outputTokens: 987654,
      usageSource: 'provider',
      finishReasons: ['length'],
      outputTextTruncated: true,
      complete: true,
      eventCount: blocks * 400 + 3,
      oversizedEvents: 0,
    });
    expect(Buffer.byteLength(summary.outputText)).toBeLessThanOrEqual(limits.outputTextMaxBytes);
    // Folded state is ~64 KiB of text (UTF-16 in the heap) plus one event; allow generous slack for JIT and test noise.
    expect(peak).toBeLessThan(4 * 1024 * 1024);
  });
});

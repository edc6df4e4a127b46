/**
 * The chat-completion exchange's body sizes: "a body of N KiB" (the bench's
 * scaling section) is a JSON request and an SSE answer of about N KiB each.
 */
import { toBodyChunk } from './http-exchange-spec';
import { chatCompletionExchange } from './realistic-exchanges';

const bytesOf = (body: Parameters<typeof toBodyChunk>[0][] | undefined): number => (body ?? []).reduce((sum, part) => sum + toBodyChunk(part).data.length, 0);

describe('chatCompletionExchange body sizes', () => {
  it.each([1, 16, 64])('a body of %i KiB: request and answer of about that many bytes, the answer still valid SSE', (kib) => {
    const spec = chatCompletionExchange({ id: `size-${kib}`, requestBytes: kib * 1024, responseBytes: kib * 1024, events: 4 });
    const request = bytesOf(spec.request.body);
    expect(request).toBeGreaterThanOrEqual(kib * 1024);
    expect(request).toBeLessThan(kib * 1024 + 256);
    expect(JSON.parse(Buffer.concat(spec.request.body!.map((part) => toBodyChunk(part).data)).toString()).user).toBe(`size-${kib}`);
    // The answer is exact: padding goes into the events' content.
    expect(bytesOf(spec.response!.body)).toBe(kib * 1024);
    const events = spec.response!.body!.map((part) => toBodyChunk(part).data.toString());
    expect(events).toHaveLength(5);
    expect(events[4]).toBe('data: [DONE]\n\n');
    const chunks = events.slice(0, 4).map((event) => JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta: { role?: string; content: string } }> });
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    // Spread evenly over the events that carry words (their words differ by a few characters).
    const lengths = chunks.slice(1).map((chunk) => chunk.choices[0].delta.content.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(8);
    expect(Math.min(...lengths)).toBeGreaterThan(' quick'.length);
  });

  it('keeps the default answer when no size is asked for', () => {
    const spec = chatCompletionExchange({ id: 'plain' });
    const events = spec.response!.body!.map((part) => toBodyChunk(part).data.toString());
    expect(events).toHaveLength(41);
    expect(events[2]).toContain('"delta":{"content":" brown"}');
  });

  it('names the field, the value and the minimum when the answer cannot be that small', () => {
    expect(() => chatCompletionExchange({ responseBytes: 1024 })).toThrow(/responseBytes=1024 is below the \d+ bytes of 40 unpadded SSE events \(expected ≥ \d+, or fewer events\)/);
  });
});

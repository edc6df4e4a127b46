import { GenAiConfigError } from '../../src/processing/genai/errors';
import { HeadTailBuffer, SKIP_MARKER_MAX_BYTES, skipMarker } from '../../src/processing/head-tail-buffer';
import { randomSplits } from './genai/chunking';

function feed(b: HeadTailBuffer, pieces: Uint8Array[]): HeadTailBuffer {
  for (const p of pieces) b.push(p);
  return b;
}

describe('HeadTailBuffer', () => {
  it('returns a body that fits whole, with no marker', () => {
    const body = Buffer.from('x'.repeat(200));
    const r = feed(new HeadTailBuffer({ maxBytes: 200, headBytes: 10 }), [body.subarray(0, 7), body.subarray(7)]).renderBytes();
    expect(Buffer.from(r.body).equals(body)).toBe(true);
    expect(r).toMatchObject({ totalBytes: 200, skippedBytes: 0, truncated: false });
  });

  it('keeps head and tail with an exact skipped count, within maxBytes, however the bytes are chunked', () => {
    const body = Buffer.alloc(10_000);
    for (let i = 0; i < body.length; i++) body[i] = 32 + ((i * 31) % 95);
    for (const [maxBytes, headBytes] of [
      [300, 100],
      [300, 0],
      [300, 300 - SKIP_MARKER_MAX_BYTES],
      [1000, undefined],
    ] as const) {
      let expected: string | undefined;
      for (const pieces of [[body], ...randomSplits(body, 20, 997, maxBytes)]) {
        const r = feed(new HeadTailBuffer({ maxBytes, headBytes }), pieces).renderBytes();
        const out = Buffer.from(r.body);
        expect(out.length).toBeLessThanOrEqual(maxBytes);
        const h = headBytes ?? Math.floor((maxBytes - SKIP_MARKER_MAX_BYTES) / 2);
        const marker = Buffer.from(skipMarker(r.skippedBytes));
        expect(out.subarray(0, h).equals(body.subarray(0, h))).toBe(true);
        expect(out.subarray(h, h + marker.length).equals(marker)).toBe(true);
        const tail = out.subarray(h + marker.length);
        expect(tail.equals(body.subarray(body.length - tail.length))).toBe(true);
        expect(r.skippedBytes).toBe(body.length - h - tail.length);
        expect(r.truncated).toBe(true);
        expected ??= out.toString('latin1');
        expect(out.toString('latin1')).toBe(expected);
      }
    }
  });

  it('cuts text on character boundaries and counts the dropped bytes', () => {
    const text = '€'.repeat(1000); // 3 bytes each
    const bytes = Buffer.from(text);
    for (const headBytes of [100, 101, 102]) {
      const r = feed(new HeadTailBuffer({ maxBytes: 300, headBytes }), [bytes]).renderText();
      expect(r.body).not.toContain('\uFFFD');
      const [h, t] = r.body.split(/\n\[… \d+ bytes skipped …\]\n/);
      expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(300);
      expect(h).toBe('€'.repeat(Math.floor(headBytes / 3)));
      expect(r.skippedBytes).toBe(bytes.length - Buffer.byteLength(h!) - Buffer.byteLength(t!));
      expect(/^€+$/.test(t!)).toBe(true);
    }
  });

  it('keeps the end of a long SSE stream in bounded memory', () => {
    const b = new HeadTailBuffer({ maxBytes: 4096 });
    const event = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"token "}}]}\n\n');
    for (let i = 0; i < 100_000; i++) b.push(event);
    const last = Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":100000}}\n\ndata: [DONE]\n\n');
    b.push(last);
    const r = b.renderText();
    expect(r.body.startsWith('data: {"choices"')).toBe(true);
    expect(r.body.endsWith('"completion_tokens":100000}}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(r.totalBytes).toBe(event.length * 100_000 + last.length);
  });

  it('rejects budgets that cannot hold the marker', () => {
    expect(() => new HeadTailBuffer({ maxBytes: 10 })).toThrow(GenAiConfigError);
    expect(() => new HeadTailBuffer({ maxBytes: 100, headBytes: 99 })).toThrow(expect.objectContaining({ code: 'CAP_ERR_GENAI_LIMIT_INVALID' }));
  });
});

import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { BodyStreamProcessor } from '../../src/processing/body-stream-processor';

async function feed(processor: BodyStreamProcessor, data: Buffer, chunkBytes: number) {
  for (let offset = 0; offset < data.length; offset += chunkBytes) await processor.push(data.subarray(offset, offset + chunkBytes));
  return processor.end();
}

describe('BodyStreamProcessor', () => {
  const text = Buffer.from(JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => ({ i, name: `item-${i}`, note: 'héllo wörld' })) }));

  it.each(['gzip', 'deflate', 'br', 'zstd'])('decodes %s while it streams, in any chunking', async (encoding) => {
    const encoded = encoding === 'gzip' ? zlib.gzipSync(text) : encoding === 'deflate' ? zlib.deflateSync(text) : encoding === 'br' ? zlib.brotliCompressSync(text) : zlib.zstdCompressSync(text);
    for (const chunk of [1, 7, 4096]) {
      const result = await feed(new BodyStreamProcessor({ contentEncoding: encoding, maxBytes: text.length, headBytes: text.length }), encoded, chunk);
      expect(result.decodeStatus).toBe('decoded');
      expect(Buffer.from(result.rendered).equals(text)).toBe(true);
      expect(result.wireBytes).toBe(encoded.length);
      expect(result.decodedBytes).toBe(text.length);
      expect(result.sha256).toBe(crypto.createHash('sha256').update(encoded).digest('hex'));
    }
  });

  it('keeps the head and the tail of a long body with the skipped byte count between', async () => {
    const body = Buffer.from('A'.repeat(10_000) + 'B'.repeat(100_000) + 'C'.repeat(10_000));
    const result = await feed(new BodyStreamProcessor({ contentEncoding: '', maxBytes: 8192, headBytes: 4096 }), body, 1000);
    const rendered = Buffer.from(result.rendered).toString();
    expect(result.truncated).toBe(true);
    expect(rendered.length).toBeLessThanOrEqual(8192);
    expect(rendered.startsWith('A'.repeat(4096))).toBe(true);
    expect(rendered.endsWith('C'.repeat(1000))).toBe(true);
    expect(rendered).toMatch(/\d+ bytes skipped/);
  });

  it('stops decoding a decompression bomb soon after the kept size', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const result = await feed(new BodyStreamProcessor({ contentEncoding: 'gzip', maxBytes: 65536, headBytes: 65536 }), bomb, 16 * 1024);
    expect(result.decodeStatus).toBe('bomb_stopped');
    expect(result.truncated).toBe(true);
    expect(result.decodedBytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('decodes a gzip body cut short as far as it goes', async () => {
    const encoded = zlib.gzipSync(text);
    const result = await feed(new BodyStreamProcessor({ contentEncoding: 'gzip', maxBytes: text.length, headBytes: text.length }), encoded.subarray(0, Math.floor(encoded.length / 2)), 512);
    expect(result.decodeStatus).toBe('decoded');
    expect(result.decodedBytes).toBeGreaterThan(0);
    expect(text.subarray(0, result.decodedBytes).equals(Buffer.from(result.rendered))).toBe(true);
  });

  it('reports a body that does not decode, keeping its first wire bytes', async () => {
    const garbage = Buffer.from('this is not gzip at all');
    const result = await feed(new BodyStreamProcessor({ contentEncoding: 'gzip', maxBytes: 1024, headBytes: 1024 }), garbage, 5);
    expect(result.decodeStatus).toBe('failed');
    expect(Buffer.from(result.rawHead).equals(garbage)).toBe(true);
  });

  it('keeps an unknown encoding raw', async () => {
    const result = await feed(new BodyStreamProcessor({ contentEncoding: 'compress', maxBytes: 1024, headBytes: 1024 }), Buffer.from('xyz'), 5);
    expect(result.decodeStatus).toBe('unsupported');
  });
});

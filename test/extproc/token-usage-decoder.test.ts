import { decodeTokenUsage } from '../../src/extproc/wire/token-usage-decoder';

// A minimal protobuf writer for the test: varints and length-delimited fields.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (number: number, payload: number[] | Buffer): number[] => [...varint((number << 3) | 2), ...varint(payload.length), ...payload];
const enumField = (number: number, value: number): number[] => [...varint(number << 3), ...varint(value)];
const count = (value: number): number[] => (value === 0 ? [] : [0x08, ...varint(value)]);

describe('decodeTokenUsage (envoy.data.ai.v3.TokenUsage)', () => {
  it('reads every count, the model, the protocol and the extraction status', () => {
    const bytes = Buffer.from([
      ...enumField(1, 4),
      ...field(2, Buffer.from('gemini-2.5-flash')),
      ...field(3, count(1222)),
      ...field(4, count(115)),
      ...field(5, count(1337)),
      ...field(6, [...field(1, count(1024)), ...field(3, count(12))]),
      ...field(7, field(1, count(80))),
      ...field(8, count(1337)),
      ...enumField(9, 2),
      // A field this reader does not know is skipped.
      ...field(15, Buffer.from('future')),
    ]);
    expect(decodeTokenUsage(bytes)).toEqual({
      protocol: 'gemini_generate_content',
      model: 'gemini-2.5-flash',
      inputTokens: 1222,
      outputTokens: 115,
      totalTokens: 1337,
      cachedInputTokens: 1024,
      cacheCreationInputTokens: null,
      toolUseInputTokens: 12,
      reasoningTokens: 80,
      status: 'partial',
    });
  });

  it('tells a count of 0 (an empty wrapper) from one not reported, and rejects malformed bytes', () => {
    const usage = decodeTokenUsage(Buffer.from([...field(4, count(0)), ...enumField(9, 1)]))!;
    expect(usage).toMatchObject({ outputTokens: 0, inputTokens: null, status: 'complete', protocol: '' });
    expect(decodeTokenUsage(Buffer.from([0x1a, 0x05, 0x08]))).toBeUndefined();
  });
});

import { AwsEventStreamDecoder, type AwsEventStreamMessage } from '../../../src/processing/genai/aws-eventstream-decoder';
import { encodeMessage } from './eventstream-encoder';
import { randomSplits, twoWaySplits } from './chunking';

function decode(pieces: Uint8Array[], maxMessageBytes = 4096): { messages: AwsEventStreamMessage[]; decoder: AwsEventStreamDecoder } {
  const messages: AwsEventStreamMessage[] = [];
  const decoder = new AwsEventStreamDecoder({ maxMessageBytes, onMessage: (m) => messages.push(m) });
  for (const p of pieces) decoder.push(p);
  decoder.end();
  return { messages, decoder };
}

const allTypes = encodeMessage(
  {
    t: { type: 'bool', value: true },
    f: { type: 'bool', value: false },
    b: { type: 'byte', value: -7 },
    s: { type: 'short', value: -1234 },
    i: { type: 'int', value: 123456789 },
    l: { type: 'long', value: -9007199254740993n },
    bytes: { type: 'bytes', value: Uint8Array.of(0, 255, 16) },
    str: 'héllo',
    ts: { type: 'timestamp', value: 1735689600123n },
    id: { type: 'uuid', value: '0f8fad5b-d9cb-469f-a165-70867728950e' },
  },
  '{"ok":true}',
);
const second = encodeMessage({ ':event-type': 'two' }, '');

describe('AwsEventStreamDecoder', () => {
  it('decodes every header type and the payload, for every split', () => {
    const stream = Buffer.concat([allTypes, second]);
    for (const pieces of twoWaySplits(stream)) {
      const { messages, decoder } = decode(pieces);
      expect(decoder.stats).toEqual({ messages: 2, badFrames: 0, oversizedMessages: 0, corrupt: false, trailingBytes: 0 });
      expect({ ...messages[0]!.headers }).toEqual({
        t: { type: 'bool', value: true },
        f: { type: 'bool', value: false },
        b: { type: 'byte', value: -7 },
        s: { type: 'short', value: -1234 },
        i: { type: 'int', value: 123456789 },
        l: { type: 'long', value: -9007199254740993n },
        bytes: { type: 'bytes', value: Uint8Array.of(0, 255, 16) },
        str: { type: 'string', value: 'héllo' },
        ts: { type: 'timestamp', value: 1735689600123 },
        id: { type: 'uuid', value: '0f8fad5b-d9cb-469f-a165-70867728950e' },
      });
      expect(Buffer.from(messages[0]!.payload).toString()).toBe('{"ok":true}');
      expect(messages[1]!.payload.length).toBe(0);
    }
  });

  it('drops a frame whose message CRC fails and resumes at the next one', () => {
    const bad = Buffer.from(allTypes);
    bad[bad.length - 10] ^= 0x01; // payload bit flip
    for (const pieces of randomSplits(Buffer.concat([bad, second]), 50, 9)) {
      const { messages, decoder } = decode(pieces);
      expect(messages.map((m) => m.headers[':event-type']?.value)).toEqual(['two']);
      expect(decoder.stats.badFrames).toBe(1);
      expect(decoder.stats.corrupt).toBe(false);
    }
  });

  it('stops at a prelude CRC failure, since the length cannot be trusted', () => {
    const bad = Buffer.from(second);
    bad[3] ^= 0x40; // total length bit flip
    const { messages, decoder } = decode([second, bad, second]);
    expect(messages.length).toBe(1);
    expect(decoder.stats).toMatchObject({ badFrames: 1, corrupt: true });
  });

  it('skips an oversized frame without buffering it', () => {
    const big = encodeMessage({ ':event-type': 'big' }, 'x'.repeat(10_000));
    for (const pieces of randomSplits(Buffer.concat([second, big, second]), 20, 3000)) {
      const { messages, decoder } = decode(pieces, 1024);
      expect(messages.length).toBe(2);
      expect(decoder.stats.oversizedMessages).toBe(1);
    }
  });

  it('reports bytes of a frame cut short', () => {
    const { messages, decoder } = decode([second, allTypes.subarray(0, 30)]);
    expect(messages.length).toBe(1);
    expect(decoder.stats.trailingBytes).toBe(30);
  });
});

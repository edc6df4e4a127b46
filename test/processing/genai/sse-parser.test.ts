import { SseParser, type SseEvent } from '../../../src/processing/genai/sse-parser';
import { twoWaySplits, utf8 } from './chunking';

function parse(pieces: Uint8Array[], maxEventBytes = 1024): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser({ maxEventBytes, onEvent: (e) => events.push(e) });
  for (const p of pieces) parser.push(p);
  parser.end();
  return { events, parser };
}

describe('SseParser', () => {
  const stream =
    '\uFEFF: keep-alive comment\r\n' +
    'event: first\r\ndata: one\r\ndata:  two spaces\r\nid: 7\r\nretry: 100\r\n\r\n' +
    'data\n\n' +
    'data: cr-only\r\r' +
    'event: nodata\n\n' +
    'data: unicode é 漢字 🎉\nunknown: x\n\n' +
    'data:{"last":true}';

  const expected: SseEvent[] = [
    { type: 'first', data: 'one\n two spaces', lastEventId: '7' },
    { type: 'message', data: '', lastEventId: '7' },
    { type: 'message', data: 'cr-only', lastEventId: '7' },
    { type: 'message', data: 'unicode é 漢字 🎉', lastEventId: '7' },
    { type: 'message', data: '{"last":true}', lastEventId: '7' },
  ];

  it('follows the event-stream rules however the bytes are chunked', () => {
    const bytes = utf8(stream);
    let runs = 0;
    for (const pieces of twoWaySplits(bytes)) {
      expect(parse(pieces).events).toEqual(expected);
      runs++;
    }
    expect(runs).toBe(bytes.length + 3);
  });

  it('treats CR at the end of one chunk and LF at the start of the next as one CRLF', () => {
    const { events } = parse([utf8('data: a\r'), utf8('\ndata: b\r'), utf8('\n\r'), utf8('\n')]);
    expect(events).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }]);
  });

  it('keeps a CR followed by an empty chunk pending', () => {
    const { events } = parse([utf8('data: a\r'), new Uint8Array(0), utf8('\n\r\n')]);
    expect(events.map((e) => e.data)).toEqual(['a']);
  });

  it('skips an oversized event without buffering it and keeps parsing', () => {
    const big = 'x'.repeat(5000);
    const text = `data: small\n\ndata: ${big}\ndata: more\n\ndata: ${big.slice(0, 40)}\ndata: ${big.slice(0, 40)}\n\ndata: after\n\n`;
    for (const pieces of [[utf8(text)], Array.from(utf8(text)).map((b) => Uint8Array.of(b))]) {
      const { events, parser } = parse(pieces, 64);
      expect(events.map((e) => e.data)).toEqual(['small', 'after']);
      expect(parser.stats.oversizedEvents).toBe(2);
      expect(parser.stats.events).toBe(2);
    }
  });

  it('does not dispatch events that have no data lines', () => {
    expect(parse([utf8('event: ping\n\n: only comment\n\nid: 3\n\n')]).events).toEqual([]);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = utf8('data: 🎉\n\n');
    for (let i = 0; i < bytes.length; i++) {
      expect(parse([bytes.subarray(0, i), bytes.subarray(i)]).events[0]?.data).toBe('🎉');
    }
  });

  it('emits a final event that lacks the trailing blank line, split anywhere', () => {
    const bytes = utf8('data: a\n\ndata: tail');
    for (const pieces of twoWaySplits(bytes)) {
      expect(parse(pieces).events.map((e) => e.data)).toEqual(['a', 'tail']);
    }
  });
});

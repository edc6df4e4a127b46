import { JsonArrayParser } from '../../../src/processing/genai/json-array-parser';
import { randomSplits, twoWaySplits, utf8 } from './chunking';

function parse(pieces: Uint8Array[], maxElementBytes = 1024): { values: unknown[]; stats: JsonArrayParser['stats'] } {
  const values: unknown[] = [];
  const parser = new JsonArrayParser({ maxElementBytes, onValue: (v) => values.push(v) });
  for (const p of pieces) parser.push(p);
  parser.end();
  return { values, stats: parser.stats };
}

describe('JsonArrayParser', () => {
  // Strings holding brackets, braces, escaped quotes and backslashes, nested arrays, multi-byte text, CRLF separators.
  const elements = [
    { text: 'a } ] { [ "quoted" \\ back', n: [1, [2, { x: '}' }]] },
    { text: 'ünïcödé ❄️ \u2028', empty: {} },
    { last: true, s: '\\"' },
  ];
  const bytes = utf8(`[${elements.map((e) => JSON.stringify(e, null, 2)).join(',\r\n')}\r\n]`);

  it('hands over each element whole, wherever the bytes are split', () => {
    for (const pieces of twoWaySplits(bytes)) {
      const { values, stats } = parse(pieces);
      expect(values).toEqual(elements);
      expect(stats).toEqual({ elements: 3, oversizedElements: 0, invalidElements: 0, closed: true });
    }
    for (const pieces of randomSplits(bytes, 100, 9)) expect(parse(pieces).values).toEqual(elements);
  });

  it('drops an element cut by the end of the stream and says the array did not close', () => {
    const { values, stats } = parse([bytes.subarray(0, bytes.length - 20)]);
    expect(values).toEqual(elements.slice(0, 2));
    expect(stats.closed).toBe(false);
  });

  it('skips and counts an element over the limit, and keeps reading after it', () => {
    const big = utf8(`[{"pad":"${'x'.repeat(300)}"},{"ok":1}]`);
    for (const pieces of [[big], ...randomSplits(big, 20, 50)]) {
      const { values, stats } = parse(pieces, 100);
      expect(values).toEqual([{ ok: 1 }]);
      expect(stats.oversizedElements).toBe(1);
    }
  });

  it('skips scalars between elements and ignores bytes after the closing bracket', () => {
    const { values, stats } = parse([utf8('[1, "x]{", {"a":1}, null] {"after":1}')]);
    expect(values).toEqual([{ a: 1 }]);
    expect(stats.closed).toBe(true);
  });
});

import { newCaptureId } from '../../src/capture/capture-id';
import { ContentTypeFilter } from '../../src/capture/content-type-filter';
import { PendingBody } from '../../src/capture/pending-body';
import { isUtf8Prefix, renderHeaderValue, utf8CutLength } from '../../src/processing/text-rendering';

describe('ContentTypeFilter', () => {
  const filter = new ContentTypeFilter(['application/json', 'application/x-ndjson', 'text/event-stream']);
  it.each([
    ['application/json', ''],
    ['Application/JSON; charset=utf-8', ''],
    ['text/event-stream', ''],
    ['application/json-seq', ''],
    ['application/octet-stream', 'content_type_excluded'],
    ['text/html', 'content_type_excluded'],
    ['', 'content_type_unknown'],
    [undefined, 'content_type_unknown'],
  ])('%s → "%s"', (contentType, reason) => {
    expect(filter.reasonToSkip(contentType)).toBe(reason);
  });
});

describe('newCaptureId', () => {
  it('is a time-ordered UUIDv7 and unique', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newCaptureId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('PendingBody', () => {
  it('hands over one transferable buffer that owns its memory', () => {
    const pending = new PendingBody();
    const source = Buffer.from('hello world');
    pending.push(source.subarray(0, 5));
    pending.push(source.subarray(5));
    const taken = pending.take()!;
    expect(Buffer.from(taken).toString()).toBe('hello world');
    expect(taken.byteOffset).toBe(0);
    expect(taken.buffer.byteLength).toBe(taken.length);
    expect(pending.take()).toBeUndefined();
  });
});

describe('text rendering', () => {
  it('escapes non-UTF-8 header bytes and keeps UTF-8 ones', () => {
    expect(renderHeaderValue('plain')).toBe('plain');
    expect(renderHeaderValue(Buffer.from('héllo').toString('latin1'))).toBe('héllo');
    expect(renderHeaderValue(Buffer.from([0x61, 0xff]).toString('latin1'))).toBe('a\\xff');
  });

  it('cuts on a UTF-8 boundary', () => {
    const bytes = Buffer.from('aé€😀');
    expect(utf8CutLength(bytes, 2)).toBe(1);
    expect(utf8CutLength(bytes, 3)).toBe(3);
    expect(utf8CutLength(bytes, 7)).toBe(6);
    expect(utf8CutLength(bytes, 100)).toBe(bytes.length);
  });

  it('accepts text whose last character was cut, rejects binary', () => {
    const cut = Buffer.from('ab€').subarray(0, 4);
    expect(isUtf8Prefix(cut)).toBe(true);
    expect(isUtf8Prefix(Buffer.from([0x7b, 0xff, 0x00, 0x7d]))).toBe(false);
    expect(isUtf8Prefix(Buffer.from([0x61, 0xc3]))).toBe(true);
    expect(isUtf8Prefix(Buffer.from([0x61, 0xff]))).toBe(false);
  });
});

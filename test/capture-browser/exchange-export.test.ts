/**
 * The downloads' formats on rows a capture can hold: CSV that a spreadsheet
 * opens without running anything, HAR 1.2 that validates whatever the row
 * lacks (no body, no response, a body not kept).
 */
import { toCsv, toHar } from '../../src/admin/capture-browser/exchange-export';
import { harErrors } from './har-validator';

const row = {
  TimestampNs: '1769860800123456789',
  CaptureId: '019c1a2b-3c4d-7e5f-8a9b-0c1d2e3f4a5b',
  Method: 'POST',
  Scheme: 'https',
  Authority: 'api.example.com',
  Path: '/v1/x?a=1&b=two',
  StatusCode: 0,
  Outcome: 'no_response',
  DurationMs: 12.5,
  ResponseHeadersMs: -1,
  ResponseFirstChunkMs: -1,
  RequestHeaders: { 'content-type': 'application/json' },
  ResponseHeaders: {},
  RequestBody: '',
  RequestBodySize: 2048,
  RequestBodyCaptured: false,
  RequestBodyNote: 'content_type_excluded',
  ResponseBody: '',
  ResponseBodySize: 0,
  GenAiRequestModel: '=HYPERLINK("http://evil.example","click")',
  GenAiInputTokens: null,
};

test('CSV: RFC 4180 quoting, formulas defused, negative numbers left alone', () => {
  const [header, line] = toCsv([row]).split('\r\n');
  expect(header!.split(',').slice(0, 3)).toEqual(['Time', 'Path', 'CaptureId']);
  expect(line).toContain('2026-01-31T12:00:00.123Z,/v1/x?a=1&b=two,019c1a2b');
  expect(line).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
  expect(line).toContain(',-1,');
});

test('HAR: a row without a response or a kept body is still valid HAR 1.2, and says why the body is missing', () => {
  const har = toHar([row]) as { log: { entries: Array<{ request: { postData: { comment: string }; queryString: unknown[] }; timings: { wait: number } }> } };
  expect(harErrors(har)).toEqual([]);
  const entry = har.log.entries[0]!;
  expect(entry.request.queryString).toEqual([
    { name: 'a', value: '1' },
    { name: 'b', value: 'two' },
  ]);
  expect(entry.request.postData.comment).toBe('body not kept (content_type_excluded)');
  expect(entry.timings.wait).toBe(0);
});

/**
 * How exchanges end, and what the Outcome column says about it: client resets
 * mid-request-body and mid-response-body, Envoy's buffer-limit local replies
 * (S13, S14), trailers in SKIP mode (no end marker ever), the 1.34 close at
 * the end of the exchange, and 200 concurrent exchanges on one connection
 * (S30) with no cross-talk between their rows.
 */
import { sentNotation } from '../emulator';
import { AFTER_HEADERS_REPLY_MS, expectCleanExchange, expectStreamedReads, sentWithoutBodies, jsonPost, newRequestId, requestHeaders, startScenarios, type Scenarios } from './scenario-support';

let s: Scenarios;
beforeAll(async () => {
  s = await startScenarios();
});
afterAll(async () => {
  await s.stop();
});

describe('client resets', () => {
  test('reset mid-request-body (STREAMED): Envoy just closes; the row keeps the bytes seen, request_incomplete', async () => {
    const id = newRequestId('reset-req');
    const result = await (
      await s.warmEnvoy({ processingMode: { requestBodyMode: 'STREAMED' } })
    ).runExchange({
      ...jsonPost('/upload', id, [
        { data: '{"part":1,', delayMs: AFTER_HEADERS_REPLY_MS },
        { data: '"part":2,', delayMs: 5 },
        { data: '"part":3}', delayMs: 5 },
      ]),
      clientReset: { direction: 'request', afterChunks: 2, delayMs: 5 },
    });
    expectCleanExchange(result);
    expect(sentWithoutBodies(result)).toEqual(['RH+pc']);
    expectStreamedReads(result, 'request', [10, 9], false, false);
    expect(result.downstream.status).toBe('reset');
    expect(result.close?.reason).toBe('client-reset');
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBody: '{"part":1,"part":2,', RequestBodySize: 19, StatusCode: 0, Outcome: 'request_incomplete' });
  });

  test('reset mid-response-body with a content-length: response_incomplete, partial body kept', async () => {
    const id = newRequestId('reset-res-cl');
    const result = await (
      await s.warmEnvoy({ processingMode: { responseBodyMode: 'STREAMED' } })
    ).runExchange({
      request: { headers: requestHeaders('GET', '/download', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', '30'],
        ],
        body: [
          { data: '{"rows":[1,', delayMs: AFTER_HEADERS_REPLY_MS },
          { data: '2,3,', delayMs: 5 },
          { data: '4]}', delayMs: 5 },
        ],
      },
      clientReset: { direction: 'response', afterChunks: 2, delayMs: 5 },
    });
    expectCleanExchange(result);
    expect(sentWithoutBodies(result)).toEqual(['RH(eos)+pc', 'SH']);
    expectStreamedReads(result, 'response', [11, 4], false, false);
    expect(result.close?.reason).toBe('client-reset');
    const row = await s.row(id);
    expect(row).toMatchObject({ StatusCode: 200, ResponseBody: '{"rows":[1,2,3,', ResponseBodySize: 15, Outcome: 'response_incomplete' });
  });

  test('reset mid-response-body of a chunked stream: no size to compare, so closed_without_end (never complete)', async () => {
    const id = newRequestId('reset-res-chunked');
    const result = await (
      await s.warmEnvoy({ processingMode: { responseBodyMode: 'STREAMED' } })
    ).runExchange({
      request: { headers: requestHeaders('GET', '/events', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'text/event-stream'],
        ],
        body: [
          { data: 'data: 1\n\n', delayMs: AFTER_HEADERS_REPLY_MS },
          { data: 'data: 2\n\n', delayMs: 5 },
        ],
      },
      clientReset: { direction: 'response', afterChunks: 1, delayMs: 5 },
    });
    expectCleanExchange(result);
    const row = await s.row(id);
    expect(row).toMatchObject({ ResponseBody: 'data: 1\n\n', Outcome: 'closed_without_end' });
  });

  test('reset right after the response headers, BUFFERED response: the body never came, not complete', async () => {
    const id = newRequestId('reset-res-headers');
    const result = await (
      await s.warmEnvoy({ processingMode: { responseBodyMode: 'BUFFERED' } })
    ).runExchange({
      request: { headers: requestHeaders('GET', '/report', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: [{ data: '{"a":1}', delayMs: 50 }],
      },
      clientReset: { direction: 'response', afterChunks: 0, delayMs: AFTER_HEADERS_REPLY_MS },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH']);
    const row = await s.row(id);
    expect(row.StatusCode).toBe(200);
    expect(row.Outcome).not.toBe('complete');
  });
});

describe("Envoy's local replies", () => {
  test('S13 BUFFERED request over the 32 KiB EG buffer limit: 413 to the client and to ext_proc as the response, request_incomplete', async () => {
    const id = newRequestId('s13');
    const chunk = 'a'.repeat(20 * 1024);
    const result = await (
      await s.warmEnvoy({ processingMode: { requestBodyMode: 'BUFFERED' }, bufferLimitBytes: 32 * 1024 })
    ).runExchange(
      jsonPost('/too-big', id, [
        { data: '{"d":"' + chunk, delayMs: AFTER_HEADERS_REPLY_MS },
        { data: chunk, delayMs: 5 },
        { data: chunk + '"}', delayMs: 5 },
      ]),
    );
    expect(result.violations).toEqual([]);
    // Envoy 1.39/1.40 pass their own 413 through ext_proc (test/fixtures/envoy-traces/buffered-request-over-limit.*).
    expect(sentNotation(result)).toEqual(['RH+pc', 'SH']);
    expect(result.downstream).toMatchObject({ status: 413, details: 'request_payload_too_large' });
    expect(result.upstream.requestStarted).toBe(false);
    expect(result.close?.reason).toBe('last-reply');
    const row = await s.row(id);
    expect(row).toMatchObject({ Path: '/too-big', RequestBodySize: 0, StatusCode: 413, Outcome: 'request_incomplete' });
  });

  test('S14 BUFFERED response over the buffer limit (chunked, 2 MiB): 500 to the client; the row does not claim a complete response', async () => {
    const id = newRequestId('s14');
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const result = await (
      await s.warmEnvoy({ processingMode: { responseBodyMode: 'BUFFERED' } })
    ).runExchange({
      request: { headers: requestHeaders('GET', '/huge', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: Array.from({ length: 8 }, () => ({ data: chunk, delayMs: 2 })),
      },
    });
    expect(result.violations).toEqual([]);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH']);
    expect(result.downstream).toMatchObject({ status: 500, details: 'response_payload_too_large' });
    const row = await s.row(id);
    expect(row).toMatchObject({ StatusCode: 200, ResponseBodySize: 0, Outcome: 'response_incomplete' });
  });

  test('S14 with a content-length: the shortfall shows as response_incomplete', async () => {
    const id = newRequestId('s14-cl');
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const result = await (
      await s.warmEnvoy({ processingMode: { responseBodyMode: 'BUFFERED' } })
    ).runExchange({
      request: { headers: requestHeaders('GET', '/huge', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', String(8 * chunk.length)],
        ],
        body: Array.from({ length: 8 }, () => chunk),
      },
    });
    expect(result.downstream.status).toBe(500);
    expect((await s.row(id)).Outcome).toBe('response_incomplete');
  });
});

describe('end markers', () => {
  test('request trailers in SKIP mode: no request message ever says end_of_stream, yet the exchange completes', async () => {
    const id = newRequestId('trailers-skip');
    const result = await (
      await s.warmEnvoy({ processingMode: { requestBodyMode: 'STREAMED' } })
    ).runExchange({
      request: {
        ...jsonPost('/with-trailers', id, []).request,
        body: [
          { data: '{"x":', delayMs: AFTER_HEADERS_REPLY_MS },
          { data: '1}', delayMs: 2 },
        ],
        trailers: [['x-checksum', 'abc']],
      },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', '2'],
        ],
        body: ['{}'],
      },
    });
    expectCleanExchange(result);
    expect(sentWithoutBodies(result)).toEqual(['RH+pc', 'SH']);
    expectStreamedReads(result, 'request', [5, 2], false);
    expect(result.upstream.trailers).toEqual([['x-checksum', 'abc']]);
    const row = await s.row(id);
    expect(row.RequestTrailers).toEqual({});
    expect(row).toMatchObject({ RequestBody: '{"x":1}', StatusCode: 200, Outcome: 'complete' });
  });

  test('Envoy 1.34 (no early close): the call closes at the end of the exchange, the server ending it first is harmless', async () => {
    const envoy = s.envoy({ envoyVersion: '1.34', processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } });
    for (let i = 0; i < 5; i++) {
      const id = newRequestId(`v134-${i}`);
      const result = await envoy.runExchange({
        ...jsonPost('/v134', id, [`{"i":${i}}`]),
        response: {
          headers: [
            [':status', '200'],
            ['content-type', 'application/json'],
          ],
          body: [`{"ok":${i}}`],
        },
      });
      expectCleanExchange(result);
      expect(sentNotation(result)).toEqual(['RH+pc', 'RB(7,eos)', 'SH', 'SB(8,eos)']);
      expect(result.downstream.body.toString()).toBe(`{"ok":${i}}`);
      const row = await s.row(id);
      expect(row).toMatchObject({ RequestBody: `{"i":${i}}`, ResponseBody: `{"ok":${i}}`, Outcome: 'complete' });
    }
  });
});

describe('S30 many concurrent exchanges', () => {
  test('200 concurrent exchanges on one connection: all clean, one row each, no cross-talk', async () => {
    const prefix = newRequestId('s30');
    // An even more generous message timeout: 200 exchanges at once in the process that also runs
    // the server and the store. This scenario is about isolation between calls, not latency.
    const envoy = s.envoy({ processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'BUFFERED' }, messageTimeoutMs: 10_000 });
    await envoy.waitForReady();
    const results = await envoy.runConcurrent(200, (i) => ({
      ...jsonPost(`/items/${i}`, `${prefix}-${i}`, [
        { data: `{"i":${i},`, delayMs: i % 7 },
        { data: `"pad":"${'p'.repeat(i)}"}`, delayMs: 1 },
      ]),
      response: {
        headers: [
          [':status', String(200 + (i % 3))],
          ['content-type', 'application/json'],
        ],
        body: [`{"echo":${i}}`],
      },
    }));
    for (const result of results) expectCleanExchange(result);
    expect(results.every((r) => r.downstream.complete)).toBe(true);
    const rows = await s.rowsWhere(`startsWith(RequestId, '${prefix}-')`);
    expect(rows).toHaveLength(200);
    for (const row of rows) {
      const i = Number(row.RequestId.slice(prefix.length + 1));
      expect(row.Path).toBe(`/items/${i}`);
      expect(row.StatusCode).toBe(200 + (i % 3));
      expect(JSON.parse(row.RequestBody)).toEqual({ i, pad: 'p'.repeat(i) });
      expect(row.ResponseBody).toBe(`{"echo":${i}}`);
      expect(row.Outcome).toBe('complete');
    }
    expect(new Set(rows.map((row) => row.CaptureId)).size).toBe(200);
  });
});

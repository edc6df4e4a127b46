/**
 * Reference §9 scenarios for the two modes where the capture server behaves
 * differently from "acknowledge everything": observability mode (S21–S23:
 * never reply, Envoy does not wait) and FULL_DUPLEX_STREAMED (S25, S26, S28:
 * the server is in the data path and must echo every byte, in order, with the
 * right end_of_stream, headers reply first, trailers reply last).
 */
import { receivedNotation, sentNotation, type BodyChunk } from '../emulator';
import { expectCleanExchange, expectHeadAndTail, jsonPost, newRequestId, requestHeaders, startScenarios, type Scenarios } from './scenario-support';

let s: Scenarios;
beforeAll(async () => {
  s = await startScenarios();
});
afterAll(async () => {
  await s.stop();
});

function reads(data: Buffer, size: number, delayMs = 0): BodyChunk[] {
  const out: BodyChunk[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push({ data: data.subarray(offset, offset + size), delayMs });
  return out;
}

/** A JSON document of exactly `size` bytes. */
function jsonOfSize(size: number, fill = 'd'): Buffer {
  const body = Buffer.from(JSON.stringify({ data: fill.repeat(size - 11) }));
  expect(body.length).toBe(size);
  return body;
}

// A short deferred_close_timeout keeps the suite fast; the behaviour is the same at Envoy's 5 s.
const OBSERVE = { observabilityMode: true, deferredCloseTimeoutMs: 300 } as const;

describe('observability mode', () => {
  test('S21 headers only: sent without waiting, no replies, no protocol_config; row flagged ObservabilityMode', async () => {
    const id = newRequestId('s21');
    const result = await s.envoy(OBSERVE).runExchange({
      request: { headers: requestHeaders('GET', '/shadow', id) },
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
    expect(sentNotation(result)).toEqual(['RH(eos)+obs', 'SH+obs']);
    expect(result.received).toEqual([]);
    expect(result.downstream).toMatchObject({ status: 200, complete: true });
    expect(result.downstream.body.toString()).toBe('{}');
    // Nothing told the server the response ended, so Envoy's deferred close ends the call.
    expect(result.close?.reason).toBe('deferred');
    const row = await s.row(id);
    expect(row).toMatchObject({ ObservabilityMode: true, BodyModes: '', Path: '/shadow', StatusCode: 200, Outcome: 'complete' });
  });

  test('S22 Envoy-native: request STREAMED + trailers, response SKIP: three messages back to back, no replies', async () => {
    const id = newRequestId('s22');
    const result = await s.envoy({ ...OBSERVE, processingMode: { requestBodyMode: 'STREAMED', requestTrailerMode: 'SEND', responseHeaderMode: 'SKIP' } }).runExchange({
      request: { headers: requestHeaders('POST', '/shadow-upload', id, [['content-type', 'application/x-ndjson']]), body: ['{"greeting":"Hello"}\n'], trailers: [['x-sum', '42']] },
      // The upstream answers after a round trip. With nothing to process for the response, Envoy
      // closes the call as the response headers arrive; with zero upstream latency the emulator
      // (grpc-js starts a call asynchronously) would cancel it before any message left.
      response: { headers: [[':status', '200']], delayMs: 20 },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+obs', 'RB(21)+obs', 'RT+obs']);
    expect(result.received).toEqual([]);
    expect(result.upstream.body.toString()).toBe('{"greeting":"Hello"}\n');
    expect(result.downstream.status).toBe(200);
    const row = await s.row(id);
    expect(row).toMatchObject({ ObservabilityMode: true, RequestBody: '{"greeting":"Hello"}\n', RequestBodySize: 21 });
    expect(row.RequestTrailers).toEqual({ 'x-sum': '42' });
    // Response headers are SKIP: the server never sees a response and says so.
    expect(row).toMatchObject({ StatusCode: 0, Outcome: 'no_response' });
  });

  test('S22 EG variant (STREAMED both ways, no trailers): the server ends the call itself once both ends are seen', async () => {
    const id = newRequestId('s22-eg');
    const result = await s.envoy({ ...OBSERVE, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } }).runExchange({
      request: { headers: requestHeaders('POST', '/shadow-chat', id, [['content-type', 'application/json']]), body: ['{"q":"Hello"}'] },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: ['{"a":"Hi"}'],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+obs', 'RB(13,eos)+obs', 'SH+obs', 'SB(10,eos)+obs']);
    expect(result.received).toEqual([]);
    // Ending with OK is the sanctioned "I want no more"; Envoy's deferred close never has to fire.
    expect(result.grpcStatus?.code).toBe(0);
    expect(result.close).toBeUndefined();
    const row = await s.row(id);
    expect(row).toMatchObject({ ObservabilityMode: true, RequestBody: '{"q":"Hello"}', ResponseBody: '{"a":"Hi"}', StatusCode: 200, Outcome: 'complete' });
  });

  test('S23 non-STREAMED body mode: no body messages; with headers SKIP too the call never opens', async () => {
    const id = newRequestId('s23');
    const withHeaders = await s.envoy({ ...OBSERVE, processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } }).runExchange({
      ...jsonPost('/shadow-buffered', id, ['{"x":1}']),
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: ['{"y":2}'],
      },
    });
    expectCleanExchange(withHeaders);
    expect(sentNotation(withHeaders)).toEqual(['RH+obs', 'SH+obs']);
    expect(withHeaders.downstream.body.toString()).toBe('{"y":2}');
    const row = await s.row(id);
    expect(row).toMatchObject({ ObservabilityMode: true, RequestBodySize: 0, ResponseBodySize: 0, RequestBodyCaptured: false, StatusCode: 200 });

    const before = await s.count();
    const silent = await s
      .envoy({ ...OBSERVE, processingMode: { requestHeaderMode: 'SKIP', responseHeaderMode: 'SKIP', requestBodyMode: 'BUFFERED' } })
      .runExchange(jsonPost('/shadow-nothing', newRequestId('s23-none'), ['{"x":1}']));
    expect(silent.streamOpened).toBe(false);
    expect(silent.sent).toEqual([]);
    expect(silent.downstream.status).toBe(200);
    expect(await s.count()).toBe(before);
  });
});

describe('FULL_DUPLEX_STREAMED', () => {
  const FDS_REQUEST = { processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND' } } as const;

  test('S25 request, no trailers, 64 KiB: every byte echoed in order, eos echoed last; body stored whole', async () => {
    const id = newRequestId('s25');
    const body = jsonOfSize(64 * 1024);
    const result = await s.envoy(FDS_REQUEST).runExchange(jsonPost('/fds', id, reads(body, 16 * 1024, 1)));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(16384)', 'RB(16384)', 'RB(16384)', 'RB(16384,eos)', 'SH(eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb.sr(16384)', 'rb.sr(16384)', 'rb.sr(16384)', 'rb.sr(16384,eos)', 'sh']);
    expect(result.upstream.body.equals(body)).toBe(true);
    expect(result.upstream.complete).toBe(true);
    expect(result.sent[0]!.message.protocol_config?.request_body_mode).toBe(4);
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBody: body.toString(), RequestBodySize: body.length, RequestBodyTruncated: false, BodyModes: 'FULL_DUPLEX_STREAMED/NONE', Outcome: 'complete' });
  });

  test('S25 body sent before the headers reply (all in one tick): echoes still follow the headers reply', async () => {
    const id = newRequestId('s25-early');
    const result = await s.envoy(FDS_REQUEST).runExchange(jsonPost('/fds-early', id, ['{"a":', '1,', '"b":2}']));
    expectCleanExchange(result);
    expect(receivedNotation(result)).toEqual(['rh', 'rb.sr(5)', 'rb.sr(2)', 'rb.sr(6,eos)', 'sh']);
    expect(result.upstream.body.toString()).toBe('{"a":1,"b":2}');
    expect((await s.row(id)).RequestBody).toBe('{"a":1,"b":2}');
  });

  test('S26 request with trailers, 128 KiB: end_of_stream stays false, trailers reply last; cut at maxBytes', async () => {
    const id = newRequestId('s26');
    const body = jsonOfSize(128 * 1024, 'e');
    const result = await s.envoy(FDS_REQUEST).runExchange({
      request: { ...jsonPost('/fds-trailers', id, []).request, body: reads(body, 32 * 1024), trailers: [['x-trailer-foo', 'yes']] },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(32768)', 'RB(32768)', 'RB(32768)', 'RB(32768)', 'RT', 'SH(eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb.sr(32768)', 'rb.sr(32768)', 'rb.sr(32768)', 'rb.sr(32768)', 'rt', 'sh']);
    expect(result.upstream.body.equals(body)).toBe(true);
    expect(result.upstream.trailers).toEqual([['x-trailer-foo', 'yes']]);
    const row = await s.row(id);
    expect(row.RequestTrailers).toEqual({ 'x-trailer-foo': 'yes' });
    expect(row).toMatchObject({ RequestBodySize: body.length, RequestBodyTruncated: true, Outcome: 'complete' });
    expectHeadAndTail(row.RequestBody, body.toString(), 65536);
  });

  test('S28 both directions: request and response echoed verbatim, both bodies stored', async () => {
    const id = newRequestId('s28');
    const events = ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: [DONE]\n\n'];
    const result = await s
      .envoy({ processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND', responseBodyMode: 'FULL_DUPLEX_STREAMED', responseTrailerMode: 'SEND' } })
      .runExchange({
        ...jsonPost('/fds-both', id, ['{"stream":', { data: 'true}', delayMs: 2 }]),
        response: {
          headers: [
            [':status', '200'],
            ['content-type', 'text/event-stream'],
          ],
          body: events.map((data) => ({ data, delayMs: 2 })),
        },
      });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(10)', 'RB(5,eos)', 'SH', 'SB(15)', 'SB(15)', 'SB(14,eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb.sr(10)', 'rb.sr(5,eos)', 'sh', 'sb.sr(15)', 'sb.sr(15)', 'sb.sr(14,eos)']);
    expect(result.downstream.body.toString()).toBe(events.join(''));
    expect(result.downstream.complete).toBe(true);
    const row = await s.row(id);
    expect(row).toMatchObject({
      RequestBody: '{"stream":true}',
      ResponseBody: events.join(''),
      BodyModes: 'FULL_DUPLEX_STREAMED/FULL_DUPLEX_STREAMED',
      Outcome: 'complete',
    });
  });

  test('FDS response with trailers (gRPC-style): body echoed without eos, trailers acknowledged, trailers stored', async () => {
    const id = newRequestId('fds-grpc');
    const frame = Buffer.from([0, 0, 0, 0, 3, 0x08, 0x96, 0x01]);
    const result = await s.envoy({ processingMode: { responseBodyMode: 'FULL_DUPLEX_STREAMED', responseTrailerMode: 'SEND' } }).runExchange({
      request: { headers: requestHeaders('POST', '/pkg.Svc/Sum', id, [['content-type', 'application/grpc']]), body: [Buffer.from([0, 0, 0, 0, 0])] },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/grpc'],
        ],
        body: [frame],
        trailers: [['grpc-status', '0']],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'SH', 'SB(8)', 'ST']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh', 'sb.sr(8)', 'st']);
    expect(result.downstream.body.equals(frame)).toBe(true);
    expect(result.downstream.trailers).toEqual([['grpc-status', '0']]);
    const row = await s.row(id);
    expect(row.ResponseTrailers).toEqual({ 'grpc-status': '0' });
    expect(row).toMatchObject({ ResponseBodySize: 8, ResponseBodyNote: 'content_type_excluded', Outcome: 'complete' });
  });
});

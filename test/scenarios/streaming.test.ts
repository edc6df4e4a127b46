/**
 * Reference §9 streaming scenarios (S05, S06, S08, S10, S15, S31, S43) and the
 * capture cap: STREAMED bodies are pipelined chunk by chunk, every chunk gets
 * its own empty reply in order, and the row holds at most maxBytes of the
 * body (cut on a UTF-8 boundary) while counting the full size.
 */
import { chatCompletionExchange, receivedNotation, sentNotation, type BodyChunk } from '../emulator';
import {
  AFTER_HEADERS_REPLY_MS,
  ENVOY_MESSAGE_TIMEOUT_MS,
  expectCleanExchange,
  expectHeadAndTail,
  expectOnlyEmptyAcks,
  expectStreamedReads,
  sentWithoutBodies,
  jsonPost,
  newRequestId,
  requestHeaders,
  startScenarios,
  type Scenarios,
} from './scenario-support';

const MAX_BYTES = 65536;
let s: Scenarios;
beforeAll(async () => {
  s = await startScenarios({ maxBytes: MAX_BYTES });
});
afterAll(async () => {
  await s.stop();
});

const STREAMED_REQUEST = { processingMode: { requestBodyMode: 'STREAMED' } } as const;

/** Splits a buffer into reads of `size` bytes, each `delayMs` after the previous one. */
function reads(data: Buffer, size: number, delayMs = 0): BodyChunk[] {
  const out: BodyChunk[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push({ data: data.subarray(offset, offset + size), delayMs });
  return out;
}

describe('STREAMED bodies', () => {
  test('S05 five 1000-byte reads then the chunked terminator: pipelined, one reply per chunk, one eos', async () => {
    const id = newRequestId('s05');
    const body = Buffer.from(JSON.stringify({ log: 'z'.repeat(4990) }));
    expect(body.length).toBe(5000);
    const chunks: BodyChunk[] = [...reads(body, 1000, 10), { data: '', delayMs: 10 }];
    chunks[0]!.delayMs = AFTER_HEADERS_REPLY_MS;
    const result = await (await s.warmEnvoy(STREAMED_REQUEST)).runExchange(jsonPost('/ingest', id, chunks));
    expectCleanExchange(result);
    expectOnlyEmptyAcks(result);
    // Normally ['RH+pc', 'RB(1000)' ×5, 'RB(0,eos)', 'SH(eos)'], each RB sent without waiting for earlier replies.
    expect(sentWithoutBodies(result)).toEqual(['RH+pc', 'SH(eos)']);
    expectStreamedReads(result, 'request', [1000, 1000, 1000, 1000, 1000, 0], true);
    expect(result.upstream.body).toEqual(body);
    expect(result.close?.reason).toBe('last-reply');
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBody: body.toString(), RequestBodySize: 5000, RequestBodyTruncated: false, BodyModes: 'STREAMED/NONE', Outcome: 'complete' });
  });

  test('S05 variant: eos on the last data chunk when the terminator comes in the same read', async () => {
    // The first read comes after the headers reply; a read during it would be coalesced (see S06).
    const id = newRequestId('s05b');
    const result = await (
      await s.warmEnvoy(STREAMED_REQUEST)
    ).runExchange(
      jsonPost('/ingest', id, [
        { data: '{"a":', delayMs: AFTER_HEADERS_REPLY_MS },
        { data: '1}', delayMs: 5 },
      ]),
    );
    expectCleanExchange(result);
    expect(sentWithoutBodies(result)).toEqual(['RH+pc', 'SH(eos)']);
    expectStreamedReads(result, 'request', [5, 2], true);
    expect((await s.row(id)).RequestBody).toBe('{"a":1}');
  });

  test('S06 2 MiB in 16 KiB reads under back-pressure: every chunk acknowledged in order; cut at maxBytes, full size counted', async () => {
    const id = newRequestId('s06');
    const body = Buffer.from(JSON.stringify({ blob: 'q'.repeat(2 * 1024 * 1024 - 11) }));
    expect(body.length).toBe(2 * 1024 * 1024);
    // A 64 KiB buffer limit makes the emulator read-disable the client while un-acked chunks pile up.
    const result = await s.envoy({ ...STREAMED_REQUEST, bufferLimitBytes: 64 * 1024 }).runExchange(jsonPost('/bulk', id, reads(body, 16 * 1024)));
    expectCleanExchange(result);
    // Reads that arrive while the headers reply is pending go out as one coalesced chunk, then one per read.
    const bodyMessages = result.sent.filter(({ message }) => message.request === 'request_body').map(({ message }) => message.request_body!);
    expect(bodyMessages.length).toBeGreaterThan(100);
    expect(bodyMessages.reduce((sum, part) => sum + (part.body?.length ?? 0), 0)).toBe(body.length);
    expect(bodyMessages.filter((part) => part.end_of_stream === true)).toHaveLength(1);
    expect(bodyMessages.at(-1)!.end_of_stream).toBe(true);
    expect(receivedNotation(result).filter((r) => r === 'rb')).toHaveLength(bodyMessages.length);
    expect(result.upstream.body.equals(body)).toBe(true);
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBodySize: body.length, RequestBodyTruncated: true, RequestBodyCaptured: true, Outcome: 'complete' });
    expectHeadAndTail(row.RequestBody, body.toString(), MAX_BYTES);
  });

  test('a 1 MiB upload of multi-byte text is cut to maxBytes on UTF-8 boundaries, full size counted', async () => {
    const id = newRequestId('utf8');
    // 6 ASCII bytes then 3-byte characters: a cut at an arbitrary byte falls inside a character.
    const text = '{"t":"' + '€'.repeat(349_522) + '"  }';
    const body = Buffer.from(text);
    expect(body.length).toBe(1024 * 1024);
    const result = await s.envoy(STREAMED_REQUEST).runExchange(jsonPost('/utf8', id, reads(body, 64 * 1024)));
    expectCleanExchange(result);
    const row = await s.row(id);
    // Head and tail both end on character boundaries; the marker counts the bytes of the dropped partial characters too.
    expectHeadAndTail(row.RequestBody, text, MAX_BYTES);
    expect(row).toMatchObject({ RequestBodySize: 1024 * 1024, RequestBodyTruncated: true, RequestBodyNote: '' });
  });

  test('S08 send_body_without_waiting_for_header_response: body sent before the headers reply, replies still headers first', async () => {
    const id = newRequestId('s08');
    const result = await s.envoy({ ...STREAMED_REQUEST, sendBodyWithoutWaitingForHeaderResponse: true }).runExchange(jsonPost('/early', id, ['{"early":', 'true}']));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(9)', 'RB(5,eos)', 'SH(eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb', 'rb', 'sh']);
    expect(result.sent[0]!.message.protocol_config?.send_body_without_waiting_for_header_response).toBe(true);
    // Both body chunks left before the headers reply arrived.
    expect(result.sent[2]!.atMs).toBeLessThanOrEqual(result.received[0]!.atMs);
    expect((await s.row(id)).RequestBody).toBe('{"early":true}');
  });

  test('S10 STREAMED request with trailers (trailer SEND): trailers stored and the request complete without eos', async () => {
    const id = newRequestId('s10');
    const result = await (
      await s.warmEnvoy({ processingMode: { requestBodyMode: 'STREAMED', requestTrailerMode: 'SEND' } })
    ).runExchange({
      request: {
        ...jsonPost('/checked', id, []).request,
        body: [
          { data: '{"d1":1,', delayMs: AFTER_HEADERS_REPLY_MS },
          { data: '"d2":2}', delayMs: 2 },
        ],
        trailers: [['x-checksum', 'abc']],
      },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: ['{}'],
      },
    });
    expectCleanExchange(result);
    // Trailers wait for every body reply, and no body message carries end_of_stream.
    expect(sentWithoutBodies(result)).toEqual(['RH+pc', 'RT', 'SH']);
    expect(receivedNotation(result).filter((r) => r !== 'rb')).toEqual(['rh', 'rt', 'sh']);
    expectStreamedReads(result, 'request', [8, 7], false);
    expect(result.upstream.trailers).toEqual([['x-checksum', 'abc']]);
    const row = await s.row(id);
    expect(row.RequestTrailers).toEqual({ 'x-checksum': 'abc' });
    expect(row).toMatchObject({ RequestBody: '{"d1":1,"d2":2}', Outcome: 'complete' });
  });

  test('S15 SSE response, STREAMED: one message per event, empty eos terminator, idle gaps do not trip the timer', async () => {
    const id = newRequestId('s15');
    const events = ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'];
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED' }, messageTimeoutMs: ENVOY_MESSAGE_TIMEOUT_MS }).runExchange({
      request: { headers: requestHeaders('GET', '/events', id, [['accept', 'text/event-stream']]) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'text/event-stream'],
          ['cache-control', 'no-cache'],
          ['transfer-encoding', 'chunked'],
        ],
        // Gaps longer than the 200 ms message timeout: the timer is disarmed between events.
        body: [...events.map((data) => ({ data, delayMs: 250 })), { data: '', delayMs: AFTER_HEADERS_REPLY_MS }],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH', 'SB(9)', 'SB(9)', 'SB(9)', 'SB(0,eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh', 'sb', 'sb', 'sb', 'sb']);
    expect(result.downstream.body.toString()).toBe(events.join(''));
    const row = await s.row(id);
    expect(row).toMatchObject({
      ResponseContentType: 'text/event-stream',
      ResponseBody: events.join(''),
      ResponseBodySize: 27,
      ResponseBodyCaptured: true,
      Outcome: 'complete',
      BodyModes: 'NONE/STREAMED',
    });
    expect(row.ResponseHeaders['transfer-encoding']).toBe('chunked');
  });

  test('a realistic chat completion (STREAMED both ways): request JSON and the SSE stream stored whole', async () => {
    const id = newRequestId('chat');
    const spec = chatCompletionExchange({ id, requestChunks: 3, events: 20 });
    const result = await s.envoy({ processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } }).runExchange(spec);
    expectCleanExchange(result);
    const row = await s.row(id);
    expect(JSON.parse(row.RequestBody).user).toBe(id);
    expect(row.ResponseBody.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(row.ResponseBody.split('data: ').length - 1).toBe(21);
    expect(row).toMatchObject({ Authority: 'api.openai.com', Path: '/v1/chat/completions', StatusCode: 200, Outcome: 'complete' });
  });

  test('S43 one chunk arriving long after the previous one is still acknowledged at once: no timeout', async () => {
    const id = newRequestId('s43');
    const result = await (
      await s.warmEnvoy({ ...STREAMED_REQUEST, messageTimeoutMs: ENVOY_MESSAGE_TIMEOUT_MS })
    ).runExchange(
      jsonPost('/slow-client', id, [
        { data: '{"c1":1,', delayMs: AFTER_HEADERS_REPLY_MS },
        { data: '"c2":2,', delayMs: 250 },
        { data: '"c3":3}', delayMs: 150 },
      ]),
    );
    expectCleanExchange(result);
    expect(result.downstream.status).toBe(200);
    expectStreamedReads(result, 'request', [8, 7, 7], true);
    expect((await s.row(id)).RequestBody).toBe('{"c1":1,"c2":2,"c3":3}');
  });
});

describe('gRPC upstream with trailers', () => {
  const grpcFrame = Buffer.from([0, 0, 0, 0, 10, 0x0a, 0x08, 0x77, 0x69, 0x64, 0x67, 0x65, 0x74, 0x2d, 0x31]);
  const grpcExchange = (id: string) => ({
    request: {
      headers: requestHeaders('POST', '/pkg.Svc/Get', id, [
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]),
      body: [Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01])],
    },
    response: {
      headers: [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ] as Array<[string, string]>,
      body: [grpcFrame],
      trailers: [
        ['grpc-status', '0'],
        ['grpc-message', ''],
      ] as Array<[string, string]>,
    },
  });

  test('S31 response STREAMED + trailer SEND: trailers end the response; gRPC bytes counted, not kept', async () => {
    const id = newRequestId('s31');
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED', responseTrailerMode: 'SEND' } }).runExchange(grpcExchange(id));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'SH', `SB(${grpcFrame.length})`, 'ST']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh', 'sb', 'st']);
    expect(result.downstream.trailers).toEqual([
      ['grpc-status', '0'],
      ['grpc-message', ''],
    ]);
    const row = await s.row(id);
    expect(row.ResponseTrailers).toEqual({ 'grpc-status': '0', 'grpc-message': '' });
    expect(row).toMatchObject({
      Path: '/pkg.Svc/Get',
      ResponseContentType: 'application/grpc',
      ResponseBodyCaptured: false,
      ResponseBodyNote: 'content_type_excluded',
      ResponseBodySize: grpcFrame.length,
      Outcome: 'complete',
    });
  });

  test('S31 EG variant (trailers SKIP): no end marker ever arrives; stored as closed_without_end', async () => {
    const id = newRequestId('s31-skip');
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED' } }).runExchange(grpcExchange(id));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'SH', `SB(${grpcFrame.length})`]);
    expect(result.downstream.trailers).toEqual([
      ['grpc-status', '0'],
      ['grpc-message', ''],
    ]);
    const row = await s.row(id);
    expect(row.ResponseTrailers).toEqual({});
    expect(row).toMatchObject({ ResponseBodySize: grpcFrame.length, Outcome: 'closed_without_end' });
  });
});

/**
 * Reference §9 scenarios about headers and whole bodies (S01–S04, S11, S33–S35,
 * S39, S41), header SEND/SKIP, old Envoy profiles, who-called columns
 * (attributes, forwarded metadata, traceparent) and content-type filtering,
 * replayed by the Envoy emulator against the real capture server and store.
 */
import { receivedNotation, sentNotation } from '../emulator';
import { expectCleanExchange, expectHeadAndTail, expectOnlyEmptyAcks, jsonPost, newRequestId, requestHeaders, startScenarios, type Scenarios } from './scenario-support';

let s: Scenarios;
beforeAll(async () => {
  s = await startScenarios();
});
afterAll(async () => {
  await s.stop();
});

const WIDGET = '{"id":1,"name":"widget-xyz"}';

describe('headers and whole bodies', () => {
  test('S01 GET, default modes: two acks, early close, row with columns and header maps', async () => {
    const id = newRequestId('s01');
    const result = await s.envoy().runExchange({
      request: {
        headers: requestHeaders('GET', '/items?page=2', id, [
          ['accept', 'application/json'],
          ['user-agent', 'curl/8.5.0'],
        ]),
      },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', '13'],
        ],
        body: ['{"items":[1]}'],
      },
    });
    expectCleanExchange(result);
    expectOnlyEmptyAcks(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh']);
    expect(result.downstream).toMatchObject({ status: 200, details: 'via_upstream', complete: true });
    expect(result.downstream.body.toString()).toBe('{"items":[1]}');
    expect(result.close?.reason).toBe('last-reply');

    const row = await s.row(id);
    expect(row).toMatchObject({
      Method: 'GET',
      Scheme: 'https',
      Authority: 'api.example.com',
      Path: '/items?page=2',
      StatusCode: 200,
      RequestId: id,
      ResponseContentType: 'application/json',
      // Body mode NONE: the body never reached the server, so nothing is claimed about it.
      ResponseBodyCaptured: false,
      ResponseBodySize: 0,
      Outcome: 'complete',
      BodyModes: 'NONE/NONE',
      ObservabilityMode: false,
    });
    // Pseudo-headers are columns, not map entries; HCM additions are kept.
    expect(row.RequestHeaders).toEqual({ accept: 'application/json', 'user-agent': 'curl/8.5.0', 'x-forwarded-proto': 'https', 'x-request-id': id });
    expect(row.ResponseHeaders).toEqual({ 'content-type': 'application/json', 'content-length': '13' });
    expect(row.ResponseHeadersMs).toBeGreaterThanOrEqual(0);
  });

  test('S02 BUFFERED both ways with no bodies: headers-only both ways, no body messages', async () => {
    const id = newRequestId('s02');
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } }).runExchange({
      request: { headers: requestHeaders('GET', '/empty', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-length', '0'],
        ],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH(eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh']);
    expect(result.downstream.status).toBe(200);
    const row = await s.row(id);
    expect(row).toMatchObject({ Outcome: 'complete', BodyModes: 'BUFFERED/BUFFERED', StatusCode: 200, RequestBodySize: 0, ResponseBodySize: 0 });
    expect(row.RequestBodyNote).toBe('no_body');
  });

  test('S03 POST JSON, request BUFFERED in 3 reads: one body message, body stored whole', async () => {
    const id = newRequestId('s03');
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange(
      jsonPost(
        '/widgets',
        id,
        ['{"id":1,', { data: '"name":', delayMs: 2 }, { data: '"widget-xyz"}', delayMs: 2 }],
        {
          headers: [
            [':status', '201'],
            ['content-type', 'application/json'],
          ],
        },
        [['content-length', '27']],
      ),
    );
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', `RB(${WIDGET.length},eos)`, 'SH(eos)']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb', 'sh']);
    expect(result.upstream.body.toString()).toBe(WIDGET);
    expect(result.downstream.status).toBe(201);
    const row = await s.row(id);
    expect(row).toMatchObject({
      Method: 'POST',
      Path: '/widgets',
      StatusCode: 201,
      RequestContentType: 'application/json',
      RequestBody: WIDGET,
      RequestBodyCaptured: true,
      RequestBodyTruncated: false,
      RequestBodySize: WIDGET.length,
      RequestBodyNote: '',
      Outcome: 'complete',
      BodyModes: 'BUFFERED/NONE',
    });
    expect(row.RequestHeaders['content-length']).toBe('27');
  });

  test('S04 BUFFERED, whole body arrives while the headers reply is pending: still exactly one body message', async () => {
    const id = newRequestId('s04');
    // All reads land in the same tick as the headers, before the (fast) headers reply.
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange(jsonPost('/widgets', id, ['{"id":1,', '"name":', '"widget-xyz"}']));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', `RB(${WIDGET.length},eos)`, 'SH(eos)']);
    expect((await s.row(id)).RequestBody).toBe(WIDGET);
  });

  test('S11 BUFFERED_PARTIAL below the limit: one message with eos; above the limit: a partial message, the rest unprocessed', async () => {
    const small = newRequestId('s11-small');
    const body = JSON.stringify({ data: 'x'.repeat(99 * 1000) });
    const envoy = s.envoy({ processingMode: { requestBodyMode: 'BUFFERED_PARTIAL' }, bufferLimitBytes: 100 * 1000 });
    const r1 = await envoy.runExchange(jsonPost('/partial', small, [body.slice(0, 50_000), { data: body.slice(50_000), delayMs: 2 }]));
    expectCleanExchange(r1);
    expect(sentNotation(r1)).toEqual(['RH+pc', `RB(${body.length},eos)`, 'SH(eos)']);
    const row1 = await s.row(small);
    expect(row1).toMatchObject({ RequestBodySize: body.length, RequestBodyTruncated: true, RequestBodyCaptured: true, Outcome: 'complete', BodyModes: 'BUFFERED_PARTIAL/NONE' });
    expectHeadAndTail(row1.RequestBody, body, 65536);

    // Over the limit: Envoy sends what it queued (eos=false) and lets the rest through unseen.
    const big = newRequestId('s11-big');
    const chunk = 'y'.repeat(40_000);
    const r2 = await envoy.runExchange(jsonPost('/partial', big, [chunk, { data: chunk, delayMs: 2 }, { data: chunk, delayMs: 2 }, { data: chunk, delayMs: 2 }]));
    expectCleanExchange(r2);
    expect(sentNotation(r2)).toEqual(['RH+pc', 'RB(120000)', 'SH(eos)']);
    expect(r2.upstream.body.length).toBe(160_000);
    const row2 = await s.row(big);
    // The server saw 120000 bytes and no end marker for the request; the response still completed it.
    expect(row2).toMatchObject({ RequestBodySize: 120000, RequestBodyTruncated: true, StatusCode: 200, Outcome: 'complete' });
  });

  test('S33 Expect: 100-continue never reaches the server; the body is captured as usual', async () => {
    const id = newRequestId('s33');
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange(jsonPost('/upload', id, [WIDGET], undefined, [['expect', '100-continue']]));
    expectCleanExchange(result);
    const sentKeys = result.sent[0]!.message.request_headers!.headers!.headers!.map((h) => h.key);
    expect(sentKeys).not.toContain('expect');
    const row = await s.row(id);
    expect(row.RequestHeaders.expect).toBeUndefined();
    expect(row.RequestBody).toBe(WIDGET);
    expect(row.Outcome).toBe('complete');
  });

  test('S34 HEAD: both headers messages carry end_of_stream, content-length kept, no body', async () => {
    const id = newRequestId('s34');
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED' } }).runExchange({
      request: { headers: requestHeaders('HEAD', '/file', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', '1234'],
        ],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH(eos)']);
    const row = await s.row(id);
    expect(row).toMatchObject({ Method: 'HEAD', StatusCode: 200, ResponseBodySize: 0, ResponseBodyCaptured: false, Outcome: 'complete' });
    expect(row.ResponseHeaders['content-length']).toBe('1234');
  });

  test('S35 204 and 304: headers-only responses complete', async () => {
    const envoy = s.envoy({ processingMode: { responseBodyMode: 'BUFFERED' } });
    const noContent = newRequestId('s35-204');
    const r204 = await envoy.runExchange({ request: { headers: requestHeaders('DELETE', '/items/7', noContent) }, response: { headers: [[':status', '204']] } });
    expectCleanExchange(r204);
    expect(sentNotation(r204)).toEqual(['RH(eos)+pc', 'SH(eos)']);
    expect(await s.row(noContent)).toMatchObject({ StatusCode: 204, Outcome: 'complete', Method: 'DELETE' });

    const notModified = newRequestId('s35-304');
    const r304 = await envoy.runExchange({
      request: { headers: requestHeaders('GET', '/items/7', notModified, [['if-none-match', '"v1"']]) },
      response: {
        headers: [
          [':status', '304'],
          ['etag', '"v1"'],
        ],
      },
    });
    expectCleanExchange(r304);
    expect(sentNotation(r304)).toEqual(['RH(eos)+pc', 'SH(eos)']);
    const row = await s.row(notModified);
    expect(row).toMatchObject({ StatusCode: 304, Outcome: 'complete' });
    expect(row.RequestHeaders['if-none-match']).toBe('"v1"');
    expect(row.ResponseHeaders.etag).toBe('"v1"');
  });

  test('S39 response-only processing: the call opens at response time; request.id and source.address from attributes', async () => {
    const id = newRequestId('s39');
    const result = await s.envoy({ processingMode: { requestHeaderMode: 'SKIP', responseBodyMode: 'BUFFERED' }, responseAttributes: { 'request.id': '', 'source.address': '' } }).runExchange({
      request: { headers: requestHeaders('GET', '/report', id) },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
        ],
        body: ['{"rows":', '[1,2,3]}'],
      },
      responseAttributes: { 'request.id': id, 'source.address': '10.1.2.3:45678', 'response.code': 200 },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['SH+pc+attr', 'SB(16,eos)']);
    expect(receivedNotation(result)).toEqual(['sh', 'sb']);
    const row = await s.row(id);
    expect(row).toMatchObject({
      RequestId: id,
      SourceAddress: '10.1.2.3:45678',
      // No request headers were sent: nothing is known about the request.
      Method: '',
      Path: '',
      StatusCode: 200,
      ResponseBody: '{"rows":[1,2,3]}',
      Outcome: 'complete',
      BodyModes: 'NONE/BUFFERED',
    });
    expect(row.Attributes['response.code']).toBe('200');
  });

  test('S41 HTTP/2 empty final DATA frame, BUFFERED: one empty body message with eos', async () => {
    const id = newRequestId('s41');
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange(jsonPost('/empty-data', id, ['']));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(0,eos)', 'SH(eos)']);
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBodySize: 0, RequestBodyCaptured: false, RequestBodyNote: 'no_body', Outcome: 'complete' });
  });
});

describe('header modes and Envoy versions', () => {
  test('request headers SKIP, response headers SEND: first message is response_headers, request columns empty', async () => {
    const id = newRequestId('skip-req');
    const result = await s.envoy({ processingMode: { requestHeaderMode: 'SKIP' }, initialMetadata: { 'x-request-id': id } }).runExchange({
      request: { headers: requestHeaders('GET', '/skip', id) },
      response: {
        headers: [
          [':status', '200'],
          ['x-request-id', id],
        ],
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['SH(eos)+pc']);
    const [row] = await s.rowsWhere(`ResponseHeaders['x-request-id'] = '${id}'`);
    expect(row).toMatchObject({ Method: '', StatusCode: 200, Outcome: 'complete' });
  });

  test('response headers SKIP: the call closes when the response starts; the row says no response was seen', async () => {
    const id = newRequestId('skip-res');
    const result = await s.envoy({ processingMode: { responseHeaderMode: 'SKIP' } }).runExchange({
      request: { headers: requestHeaders('GET', '/skip-response', id) },
      response: { headers: [[':status', '200']] },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc']);
    expect(result.downstream.status).toBe(200);
    const row = await s.row(id);
    expect(row).toMatchObject({ Path: '/skip-response', StatusCode: 0, Outcome: 'no_response' });
  });

  test('Envoy 1.31: no protocol_config, close at the end of the exchange, BodyModes empty', async () => {
    const id = newRequestId('v131');
    const result = await s.envoy({ envoyVersion: '1.31', processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange(jsonPost('/old', id, [WIDGET]));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH', `RB(${WIDGET.length},eos)`, 'SH(eos)']);
    expect(result.close?.reason).toBe('end-of-exchange');
    const row = await s.row(id);
    expect(row).toMatchObject({ BodyModes: '', RequestBody: WIDGET, Path: '/old', Outcome: 'complete' });
  });

  test('pre-1.27 encoding: header values in `value` instead of raw_value are read the same', async () => {
    const id = newRequestId('value');
    const result = await s.envoy({ envoyVersion: '1.31', headerValueField: 'value' }).runExchange({
      request: { headers: requestHeaders('GET', '/value-field', id, [['x-unicode', 'café ☕']]) },
      response: {
        headers: [
          [':status', '404'],
          ['content-type', 'application/json'],
        ],
      },
    });
    expectCleanExchange(result);
    expect(result.sent[0]!.message.request_headers!.headers!.headers![0]!.raw_value).toBeUndefined();
    const row = await s.row(id);
    expect(row).toMatchObject({ Method: 'GET', Path: '/value-field', Authority: 'api.example.com', StatusCode: 404, ResponseContentType: 'application/json' });
    expect(row.RequestHeaders['x-unicode']).toBe('café ☕');
  });

  test('repeated headers keep every value; header names are lower-cased; Host becomes Authority', async () => {
    const id = newRequestId('repeat');
    await s.envoy().runExchange({
      request: {
        headers: [
          [':method', 'GET'],
          [':path', '/r'],
          [':scheme', 'http'],
          ['Host', 'shop.example:8080'],
          ['X-Tag', 'a'],
          ['x-tag', 'b'],
          ['x-request-id', id],
        ],
      },
      response: {
        headers: [
          [':status', '200'],
          ['Vary', 'accept'],
          ['vary', 'origin'],
        ],
      },
    });
    const row = await s.row(id);
    expect(row.Authority).toBe('shop.example:8080');
    expect(row.Scheme).toBe('http');
    expect(row.RequestHeaders['x-tag']).toBe('a\nb');
    expect(row.ResponseHeaders.vary).toBe('accept\norigin');
  });
});

describe('who called', () => {
  test('forwarded metadata namespaces become Metadata; attributes give SourceAddress; traceparent gives TraceId/SpanId', async () => {
    const id = newRequestId('who');
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const span = '00f067aa0ba902b7';
    const result = await s.envoy({ forwardingNamespaces: ['egress.workload'], requestAttributes: { 'source.address': '', 'request.id': '' } }).runExchange({
      request: { headers: requestHeaders('GET', '/who', id, [['traceparent', `00-${trace}-${span}-01`]]) },
      response: { headers: [[':status', '200']] },
      requestAttributes: { 'source.address': '10.244.1.17:39012', 'request.id': id, 'connection.mtls': true },
      dynamicMetadata: {
        'egress.workload': { kind: 'Deployment', namespace: 'shop', name: 'checkout', uid: '5f0c-1234', replicas: 3 },
        // Not listed in forwarding_namespaces: Envoy does not forward it.
        'envoy.lb': { canary: true },
      },
    });
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc+attr', 'SH(eos)']);
    const row = await s.row(id);
    expect(row.Metadata).toEqual({
      'egress.workload.kind': 'Deployment',
      'egress.workload.namespace': 'shop',
      'egress.workload.name': 'checkout',
      'egress.workload.uid': '5f0c-1234',
      'egress.workload.replicas': '3',
    });
    expect(row.SourceAddress).toBe('10.244.1.17:39012');
    expect(row.Attributes['connection.mtls']).toBe('true');
    expect(row.TraceId).toBe(trace);
    expect(row.SpanId).toBe(span);
  });

  test('RequestId falls back to the request.id attribute when there is no x-request-id header', async () => {
    const id = newRequestId('attr-id');
    await s.envoy({ hcmRequestMutation: false, requestAttributes: { 'request.id': '' } }).runExchange({
      request: {
        headers: [
          [':method', 'GET'],
          [':path', '/no-header-id'],
          [':scheme', 'https'],
          [':authority', 'api.example.com'],
        ],
      },
      response: { headers: [[':status', '200']] },
      requestAttributes: { 'request.id': id },
    });
    const row = await s.row(id);
    expect(row.Path).toBe('/no-header-id');
    expect(row.RequestHeaders['x-request-id']).toBeUndefined();
  });
});

describe('content-type filtering', () => {
  test('an excluded content type keeps sizes but not the body, and says why', async () => {
    const id = newRequestId('ctype');
    const png = Buffer.alloc(3000, 0x89);
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'STREAMED' } }).runExchange({
      request: { headers: requestHeaders('POST', '/avatar', id, [['content-type', 'image/png']]), body: [png] },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'Application/JSON; charset=utf-8'],
        ],
        body: ['{"ok":', { data: 'true}', delayMs: 2 }],
      },
    });
    expectCleanExchange(result);
    const row = await s.row(id);
    expect(row).toMatchObject({
      RequestContentType: 'image/png',
      RequestBodyCaptured: false,
      RequestBody: '',
      RequestBodySize: 3000,
      RequestBodyNote: 'content_type_excluded',
      // Parameters and case do not matter for the included type.
      ResponseBodyCaptured: true,
      ResponseBody: '{"ok":true}',
      ResponseBodySize: 11,
      Outcome: 'complete',
    });
  });

  test('a body with no content type is not kept (content_type_unknown)', async () => {
    const id = newRequestId('no-ctype');
    await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange({
      request: { headers: requestHeaders('PUT', '/blob', id), body: ['{"looks":"like json"}'] },
    });
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestBodyCaptured: false, RequestBodySize: 21, RequestBodyNote: 'content_type_unknown' });
  });
});

/**
 * Self-tests of the emulator against a correct passive processor: message
 * order and contents per processing mode, and Envoy's close rules.
 */
import { EnvoyEmulator, type EnvoyEmulatorOptions } from './envoy-emulator';
import { waitFor } from './wait-for';
import { FakeProcessor } from './fake-processors';
import { receivedNotation, sentNotation } from './message-notation';
import type { HttpExchangeSpec } from './http-exchange-spec';
import { chatCompletionExchange } from './realistic-exchanges';
import { quantile, replyLatenciesMs } from './reply-latency';

const GET: HttpExchangeSpec = {
  request: {
    headers: [
      [':method', 'GET'],
      [':path', '/items'],
      [':scheme', 'http'],
      ['Host', 'shop.example'],
      ['accept', '*/*'],
    ],
  },
  response: {
    headers: [
      [':status', '200'],
      ['content-type', 'text/plain'],
      ['content-length', '13'],
    ],
    body: ['hello, world!'],
  },
};

function post(chunks: Array<string | { data: string; delayMs?: number }>, trailers?: Array<[string, string]>): HttpExchangeSpec {
  return {
    request: {
      headers: [
        [':method', 'POST'],
        [':path', '/upload'],
        [':scheme', 'http'],
        [':authority', 'api.example'],
        ['content-type', 'application/json'],
      ],
      body: chunks,
      trailers,
    },
    response: {
      headers: [
        [':status', '201'],
        ['content-length', '0'],
      ],
    },
  };
}

describe('envoy emulator with a passive processor', () => {
  const processor = new FakeProcessor();
  let target = '';
  const emulators: EnvoyEmulator[] = [];
  const emulator = (options: Omit<EnvoyEmulatorOptions, 'target'> = {}) => {
    const e = new EnvoyEmulator({ target, ...options });
    emulators.push(e);
    return e;
  };
  const lastCall = () => processor.calls[processor.calls.length - 1];

  beforeAll(async () => {
    target = await processor.start();
  });
  afterAll(async () => {
    for (const e of emulators) e.close();
    await processor.stop();
  });

  test('S01 GET with default modes: headers only, protocol_config first, early close after the last reply', async () => {
    const result = await emulator().runExchange(GET);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH']);
    expect(receivedNotation(result)).toEqual(['rh', 'sh']);
    expect(result.downstream).toMatchObject({ status: 200, details: 'via_upstream', complete: true });
    expect(result.downstream.body.toString()).toBe('hello, world!');
    expect(result.violations).toEqual([]);
    expect(result.close?.reason).toBe('last-reply');

    const first = result.sent[0].message;
    expect(first.protocol_config).toEqual({ request_body_mode: 0, response_body_mode: 0, send_body_without_waiting_for_header_response: false });
    for (const { message } of result.sent) expect(message.metadata_context).toEqual({});
    const headers = first.request_headers!.headers!.headers!;
    // Pseudo-headers first, Host as :authority, values only in raw_value, HCM additions at the end.
    expect(headers.map((h) => h.key)).toEqual([':method', ':path', ':scheme', ':authority', 'accept', 'x-forwarded-proto', 'x-request-id']);
    expect(headers.every((h) => Buffer.isBuffer(h.raw_value) && h.value === undefined)).toBe(true);
    expect(headers[3].raw_value!.toString()).toBe('shop.example');

    // The server sees Envoy's close: half-close, then the reset.
    await waitFor(() => lastCall().cancelled);
    expect(lastCall().closeEvents).toEqual(['end', 'cancelled']);
    expect(lastCall().requests.map((r) => r.request)).toEqual(['request_headers', 'response_headers']);
  });

  test('profiles: 1.34 closes at the end of the exchange, 1.31 sends no protocol_config', async () => {
    const r134 = await emulator({ envoyVersion: '1.34' }).runExchange(GET);
    expect(sentNotation(r134)).toEqual(['RH(eos)+pc', 'SH']);
    expect(r134.close?.reason).toBe('end-of-exchange');
    const r131 = await emulator({ envoyVersion: '1.31' }).runExchange(GET);
    expect(sentNotation(r131)).toEqual(['RH(eos)', 'SH']);
  });

  test('S05 STREAMED chunks are pipelined, end_of_stream only on the last, replies FIFO', async () => {
    // Headers are answered at once, body chunks 300 ms late (far more than the 15 ms the chunks
    // span, so a loaded machine's timer skew cannot reorder them): chunks must not wait for them.
    const slow = new FakeProcessor({
      decide: (req) => (req.request === 'request_body' ? { kind: 'reply', reply: { request_body: {} }, delayMs: 300 } : undefined),
    });
    const slowTarget = await slow.start();
    try {
      const e = new EnvoyEmulator({ target: slowTarget, processingMode: { requestBodyMode: 'STREAMED' }, messageTimeoutMs: 2000 });
      emulators.push(e);
      const spec = post([
        { data: 'a'.repeat(1000), delayMs: 50 },
        { data: 'b'.repeat(1000), delayMs: 5 },
        { data: 'c'.repeat(1000), delayMs: 5 },
        { data: '', delayMs: 5 },
      ]);
      const result = await e.runExchange(spec);
      expect(sentNotation(result)).toEqual(['RH+pc', 'RB(1000)', 'RB(1000)', 'RB(1000)', 'RB(0,eos)', 'SH(eos)']);
      expect(receivedNotation(result)).toEqual(['rh', 'rb', 'rb', 'rb', 'rb', 'sh']);
      // Every chunk went out before the first body reply came back.
      const firstBodyReplyAt = result.received[1].atMs;
      expect(result.sent[4].atMs).toBeLessThan(firstBodyReplyAt);
      expect(result.upstream.body.toString()).toBe('a'.repeat(1000) + 'b'.repeat(1000) + 'c'.repeat(1000));
      expect(result.downstream.status).toBe(201);
      expect(result.violations).toEqual([]);
    } finally {
      await slow.stop();
    }
  });

  test('a body that arrives while the headers reply is pending is coalesced into one message', async () => {
    const result = await emulator({ processingMode: { requestBodyMode: 'STREAMED' } }).runExchange(post(['ab', 'cd', 'ef']));
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(6,eos)', 'SH(eos)']);
  });

  test('S10 STREAMED with trailers: trailers wait for every body reply, no end_of_stream anywhere', async () => {
    const result = await emulator({ processingMode: { requestBodyMode: 'STREAMED', requestTrailerMode: 'SEND' } }).runExchange(
      post(
        [
          { data: 'd1', delayMs: 50 },
          { data: 'd2', delayMs: 5 },
        ],
        [['x-checksum', 'abc']],
      ),
    );
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(2)', 'RB(2)', 'RT', 'SH(eos)']);
    const trailersAt = result.sent[3].atMs;
    const bodyReplies = result.received.filter((m) => m.message.response === 'request_body');
    expect(bodyReplies).toHaveLength(2);
    for (const reply of bodyReplies) expect(reply.atMs).toBeLessThanOrEqual(trailersAt);
    expect(result.upstream.trailers).toEqual([['x-checksum', 'abc']]);
  });

  test('S03/S04 BUFFERED sends one body message, also when the body completes before the headers reply', async () => {
    const slowHeaders = new FakeProcessor({
      decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: { request_headers: {} }, delayMs: 50 } : undefined),
    });
    const slowTarget = await slowHeaders.start();
    try {
      const e = new EnvoyEmulator({ target: slowTarget, processingMode: { requestBodyMode: 'BUFFERED' } });
      emulators.push(e);
      const body = '{"id":1,"name":"widget-xyz"}';
      const result = await e.runExchange(post([body.slice(0, 10), { data: body.slice(10), delayMs: 5 }]));
      expect(sentNotation(result)).toEqual(['RH+pc', `RB(${body.length},eos)`, 'SH(eos)']);
      expect(result.upstream.body.toString()).toBe(body);
      // The response has no body, so its headers reply is the last one (1.37 early close).
      expect(result.close?.reason).toBe('last-reply');
    } finally {
      await slowHeaders.stop();
    }
  });

  test('S13/S14 BUFFERED over the buffer limit: 413 for the request, 500 for the response', async () => {
    const e = emulator({ processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' }, bufferLimitBytes: 1024 });
    const big = await e.runExchange(post(['x'.repeat(600), { data: 'y'.repeat(600), delayMs: 5 }]));
    expect(big.downstream).toMatchObject({ status: 413, details: 'request_payload_too_large' });
    // The 413 itself goes through ext_proc as the response (Envoy 1.39/1.40 traces).
    expect(sentNotation(big)).toEqual(['RH+pc', 'SH', 'SB(17,eos)']);
    expect(big.sent[1].message.response_headers!.headers!.headers!.map((h) => [h.key, String(h.raw_value)])).toEqual([
      [':status', '413'],
      ['content-length', '17'],
      ['content-type', 'text/plain'],
    ]);
    expect(big.downstream.body.toString()).toBe('Payload Too Large');
    expect(big.upstream.requestStarted).toBe(false);
    expect(big.upstream.body.length).toBe(0);

    const bigResponse = await e.runExchange({
      request: GET.request,
      response: { headers: [[':status', '200']], body: ['z'.repeat(800), { data: 'z'.repeat(800), delayMs: 5 }] },
    });
    expect(bigResponse.downstream).toMatchObject({ status: 500, details: 'response_payload_too_large' });
    expect(sentNotation(bigResponse)).toEqual(['RH(eos)+pc', 'SH']);

    // A buffered last body reply does not trigger the 1.37 early close (Envoy skips BUFFERED).
    const fits = await e.runExchange(GET);
    expect(sentNotation(fits)).toEqual(['RH(eos)+pc', 'SH', 'SB(13,eos)']);
    expect(fits.close?.reason).toBe('end-of-exchange');
    expect(fits.downstream.body.toString()).toBe('hello, world!');
  });

  test('S11 BUFFERED_PARTIAL: below the limit one eos message; above it one partial message, the rest unprocessed', async () => {
    const e = emulator({ processingMode: { requestBodyMode: 'BUFFERED_PARTIAL' }, bufferLimitBytes: 1000 });
    const small = await e.runExchange(post(['a'.repeat(300), { data: 'b'.repeat(300), delayMs: 5 }]));
    expect(sentNotation(small)).toEqual(['RH+pc', 'RB(600,eos)', 'SH(eos)']);

    const chunks = Array.from({ length: 6 }, (_, i) => ({ data: String(i).repeat(400), delayMs: 5 }));
    const large = await e.runExchange(post(chunks));
    expect(sentNotation(large)).toEqual(['RH+pc', 'RB(1200)', 'SH(eos)']);
    expect(large.upstream.body.toString()).toBe(chunks.map((c) => c.data).join(''));
  });

  test('attributes on the first message of each direction, metadata_context from forwarded namespaces only', async () => {
    const e = emulator({
      processingMode: { requestBodyMode: 'STREAMED' },
      requestAttributes: { 'request.path': '' },
      responseAttributes: { 'response.code': 0 },
      forwardingNamespaces: ['envoy.filters.listener.proxy_protocol'],
    });
    const spec: HttpExchangeSpec = {
      ...post(['{}']),
      requestAttributes: { 'source.address': '10.1.2.3:40000', 'request.id': 'abc', 'connection.mtls': false },
      responseAttributes: { 'response.code': 201 },
      dynamicMetadata: { 'envoy.filters.listener.proxy_protocol': { namespace: 'team-a' }, private: { secret: 'x' } },
    };
    const result = await e.runExchange(spec);
    expect(sentNotation(result)).toEqual(['RH+pc+attr', 'RB(2,eos)', 'SH(eos)+attr']);
    const attrs = result.sent[0].message.attributes!['envoy.filters.http.ext_proc'].fields!;
    expect(attrs['source.address'].stringValue).toBe('10.1.2.3:40000');
    expect(attrs['connection.mtls'].boolValue).toBe(false);
    expect(result.sent[2].message.attributes!['envoy.filters.http.ext_proc'].fields!['response.code'].numberValue).toBe(201);
    for (const { message } of result.sent) {
      expect(Object.keys(message.metadata_context!.filter_metadata!)).toEqual(['envoy.filters.listener.proxy_protocol']);
    }
    // What the server decoded matches what was sent.
    await waitFor(() => lastCall().requests.length > 0);
    const seen = lastCall().requests[0];
    expect(seen.attributes!['envoy.filters.http.ext_proc'].fields!['request.id'].stringValue).toBe('abc');
  });

  test('response-only processing opens the call at response time; request-only closes at the response headers', async () => {
    const responseOnly = await emulator({
      processingMode: { requestHeaderMode: 'SKIP', responseBodyMode: 'BUFFERED' },
    }).runExchange(GET);
    expect(sentNotation(responseOnly)).toEqual(['SH+pc', 'RB(13,eos)'.replace('RB', 'SB')]);

    const requestOnly = await emulator({ envoyVersion: '1.34', processingMode: { responseHeaderMode: 'SKIP' } }).runExchange(GET);
    expect(sentNotation(requestOnly)).toEqual(['RH(eos)+pc']);
    expect(requestOnly.close?.reason).toBe('no-response-processing');
    expect(requestOnly.downstream.status).toBe(200);
  });

  test('client reset mid-body: downstream reset, Envoy closes the call without any end marker', async () => {
    const result = await emulator({ processingMode: { requestBodyMode: 'STREAMED' } }).runExchange({
      ...post([
        { data: 'part1', delayMs: 50 },
        { data: 'part2', delayMs: 5 },
        { data: 'never', delayMs: 5 },
      ]),
      clientReset: { direction: 'request', afterChunks: 2, delayMs: 5 },
    });
    expect(result.downstream.status).toBe('reset');
    expect(result.close?.reason).toBe('client-reset');
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(5)', 'RB(5)']);
    await waitFor(() => lastCall().cancelled);
    expect(lastCall().closeEvents).toEqual(['end', 'cancelled']);
  });

  test('many concurrent realistic exchanges share one connection without cross-talk', async () => {
    // Server and emulator share this process: a loaded CI machine can stall the event loop past
    // Envoy's 200 ms, which this test is not about (the timer has its own tests).
    const e = emulator({ processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, messageTimeoutMs: 2000 });
    const before = processor.calls.length;
    const results = await e.runConcurrent(60, (i) => chatCompletionExchange({ id: `ex-${i}`, events: 10 }), { concurrency: 20 });
    expect(results.map((r) => r.downstream.status)).toEqual(Array(60).fill(200));
    expect(results.flatMap((r) => r.violations)).toEqual([]);
    for (const r of results) {
      expect(JSON.parse(r.upstream.body.toString()).user).toBe(r.name!.replace('chat-completion ', ''));
      expect(r.downstream.body.toString()).toMatch(/data: \[DONE\]\n\n$/);
      expect(r.sent.filter((m) => m.message.request === 'response_body').length).toBeGreaterThan(1);
    }
    expect(processor.calls.length - before).toBe(60);
    // Every reply pairs with the message it answers.
    const latencies = results.flatMap((r) => replyLatenciesMs(r));
    expect(latencies).toHaveLength(results.reduce((n, r) => n + r.received.length, 0));
    expect(quantile(latencies, 0.5)).toBeGreaterThanOrEqual(0);
  });
});

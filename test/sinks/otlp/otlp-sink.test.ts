/**
 * The OTLP sink over the network against this test's own receiver, which
 * decodes every request (gzip or not, protobuf or JSON) with the official
 * OTLP proto definitions from a registry package. The sink runs in a child
 * process (see SinkProcess for why).
 */
import { closedPort, makeBatch, makeRow, rowsWithIds, SinkProcess, TestReceiver, testConfig, testEnv } from './otlp-test-support';

const KiB = 1024;

describe('OTLP sink → own receiver (official protos)', () => {
  let receiver: TestReceiver;
  let sink: SinkProcess;
  let base: string;

  beforeEach(async () => {
    receiver = new TestReceiver();
    base = await receiver.start();
    sink = new SinkProcess();
  });

  afterEach(async () => {
    await sink.close();
    await receiver.stop();
  });

  describe.each(['protobuf', 'json'] as const)('gzip, %s', (encoding) => {
    it('sends gzip-compressed requests whose decoded records carry the attributes, headers from config and env', async () => {
      await sink.create(testConfig({ otlpEndpoint: `${base}/collector/`, otlpHeaders: { authorization: 'Bearer abc' } }), {
        encoding,
        compression: 'gzip',
        env: testEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'x-scope=team%20a,authorization=from-env' }),
      });
      const rows = rowsWithIds(12);
      const result = await sink.write(makeBatch(rows));
      expect(result.ok).toBe(true);

      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0]!;
      // Base URL path kept, /v1/logs appended once.
      expect(request.url).toBe('/collector/v1/logs');
      expect(request.headers['content-encoding']).toBe('gzip');
      expect(request.headers['content-type']).toBe(encoding === 'json' ? 'application/json' : 'application/x-protobuf');
      // OTEL_EXPORTER_OTLP_HEADERS wins over the manifest's headers, as the environment wins over it for every option;
      // env-only headers are URL-decoded and sent.
      expect(request.headers['authorization']).toBe('from-env');
      expect(request.headers['x-scope']).toBe('team a');
      expect(request.headers['user-agent']).toMatch(/^egress-capture OTel-OTLP-Exporter-JavaScript\//);
      expect(request.wire.length).toBeLessThan(request.decodedLength);

      const records = receiver.records();
      expect(records.map((record) => record.attributes['egress_capture.capture_id'])).toEqual(rows.map((row) => row.CaptureId));
      const record = records[0]!;
      expect(record.eventName).toBe('egress.http.exchange');
      expect(record.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(record.attributes).toMatchObject({
        'http.request.method': 'POST',
        'url.full': 'https://api.openai.com/v1/chat/completions?api-version=1&sig=REDACTED',
        'server.address': 'api.openai.com',
        'server.port': 443,
        'http.response.status_code': 200,
        'http.response.header.set-cookie': ['a=1', 'b=2'],
        'http.request.body.content': rows[0]!.RequestBody,
        'http.response.body.content': rows[0]!.ResponseBody,
        'egress_capture.request.body.truncated': false,
        'egress_capture.response.body.truncated': true,
      });
      expect(receiver.requests[0]!.decoded[0]!.resource['service.name']).toBe('egress-capture');
    });
  });

  describe('failures', () => {
    it('429 with Retry-After: 2 → retryable, retryAfterMs ≈ 2000 (the exporter retried once within its budget)', async () => {
      receiver.responder = () => ({ status: 429, headers: { 'retry-after': '2' } });
      // 3 s budget: the exporter waits the 2 s, retries, then gives up (the next wait would pass the deadline).
      await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', timeoutMs: 3000, env: testEnv() });
      const result = await sink.write(makeBatch(rowsWithIds(3)));
      expect(result).toMatchObject({ ok: false, retryable: true, errorCode: 'CAP_ERR_OTLP_EXPORT' });
      expect(result.retryAfterMs).toBeGreaterThan(1500);
      expect(result.retryAfterMs).toBeLessThanOrEqual(2000);
      expect(result.errorMessage).toContain('HTTP 429');
      expect(receiver.requests).toHaveLength(2);
    });

    it('503 with an HTTP-date Retry-After → retryable with the delay until that date', async () => {
      const until = new Date(Date.now() + 6000);
      receiver.responder = () => ({ status: 503, headers: { 'retry-after': until.toUTCString() } });
      await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', timeoutMs: 1000, env: testEnv() });
      const result = await sink.write(makeBatch(rowsWithIds(1)));
      expect(result).toMatchObject({ ok: false, retryable: true });
      // HTTP dates have one-second resolution.
      expect(result.retryAfterMs).toBeGreaterThan(3500);
      expect(result.retryAfterMs).toBeLessThanOrEqual(6000);
    });

    it('500 → retryable without Retry-After, not retried by the exporter', async () => {
      receiver.responder = () => ({ status: 500, body: 'boom' });
      await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', env: testEnv() });
      const result = await sink.write(makeBatch(rowsWithIds(2)));
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result.retryAfterMs).toBeUndefined();
      expect(result.errorMessage).toContain('HTTP 500');
      expect(result.errorMessage).toContain('boom');
      expect(receiver.requests).toHaveLength(1);
    });

    it('400 → not retryable (the data will never be accepted)', async () => {
      receiver.responder = () => ({ status: 400, body: 'bad data' });
      await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', env: testEnv() });
      const result = await sink.write(makeBatch(rowsWithIds(2)));
      expect(result).toMatchObject({ ok: false, retryable: false, errorCode: 'CAP_ERR_OTLP_EXPORT' });
      expect(result.errorMessage).toContain('HTTP 400');
    });

    it('connection refused → retryable', async () => {
      const port = await closedPort();
      await sink.create(testConfig({ otlpEndpoint: `http://127.0.0.1:${port}` }), { compression: 'none', timeoutMs: 500, env: testEnv() });
      const result = await sink.write(makeBatch(rowsWithIds(2)));
      expect(result).toMatchObject({ ok: false, retryable: true, errorCode: 'CAP_ERR_OTLP_EXPORT' });
      expect(result.errorMessage).toContain('ECONNREFUSED');
    });

    it('receiver down, then up: the retried batch arrives, every record once', async () => {
      const port = receiver.port;
      await receiver.stop();
      await sink.create(testConfig({ otlpEndpoint: `http://127.0.0.1:${port}` }), { compression: 'gzip', timeoutMs: 500, env: testEnv() });
      const batch = makeBatch(rowsWithIds(20));
      const down = await sink.write(batch);
      expect(down).toMatchObject({ ok: false, retryable: true });
      receiver = new TestReceiver();
      await receiver.start(port);
      const up = await sink.write(batch);
      expect(up.ok).toBe(true);
      const ids = receiver.records().map((record) => record.attributes['egress_capture.capture_id']);
      expect(ids).toEqual(rowsWithIds(20).map((row) => row.CaptureId));
    });

    it('a batch that failed part-way resends only the requests that were not accepted', async () => {
      // Three requests per batch; the third fails once.
      receiver.responder = (_request, index) => (index === 2 ? { status: 502 } : { status: 200 });
      await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', maxRequestBytes: 64 * KiB, timeoutMs: 500, env: testEnv() });
      const rows = rowsWithIds(30, { RequestBody: 'x'.repeat(5 * KiB) });
      const first = await sink.write(makeBatch(rows));
      expect(first).toMatchObject({ ok: false, retryable: true });
      const acceptedBefore = receiver.requests.length - 1;
      expect(acceptedBefore).toBeGreaterThanOrEqual(2);
      const second = await sink.write(makeBatch(rows));
      expect(second.ok).toBe(true);
      // Every record in an accepted request exactly once (the failed request's records were not accepted).
      const accepted = receiver.requests.filter((_request, index) => index !== 2);
      const ids = accepted.flatMap((request) => request.decoded.flatMap((group) => group.records.map((record) => record.attributes['egress_capture.capture_id'])));
      expect(ids.slice().sort()).toEqual(rows.map((row) => row.CaptureId).sort());
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe.each(['protobuf', 'json'] as const)('byte cap, %s', (encoding) => {
    it('splits a batch into requests that each stay under the cap (before compression), in order', async () => {
      const cap = 64 * KiB;
      await sink.create(testConfig({ otlpEndpoint: base }), { encoding, compression: 'gzip', maxRequestBytes: cap, env: testEnv() });
      // Quotes and control characters grow in JSON: the estimate must still be an upper bound.
      const rows = rowsWithIds(40, { RequestBody: `"é\u0001${'q"'.repeat(1500)}`, ResponseBody: 'r'.repeat(3000) });
      const result = await sink.write(makeBatch(rows));
      expect(result.ok).toBe(true);
      expect(receiver.requests.length).toBeGreaterThan(2);
      for (const request of receiver.requests) expect(request.decodedLength).toBeLessThanOrEqual(cap);
      // Packing is not wasteful: requests are more than half full on average.
      const total = receiver.requests.reduce((sum, request) => sum + request.decodedLength, 0);
      expect(total / receiver.requests.length).toBeGreaterThan(cap / 2);
      expect(receiver.records().map((record) => record.attributes['egress_capture.capture_id'])).toEqual(rows.map((row) => row.CaptureId));
      expect(receiver.records()[5]!.attributes['http.request.body.content']).toBe(rows[5]!.RequestBody);
    });

    it('exports a single record larger than the cap with its body content cut and marked', async () => {
      const cap = 32 * KiB;
      await sink.create(testConfig({ otlpEndpoint: base }), { encoding, compression: 'none', maxRequestBytes: cap, env: testEnv() });
      const big = makeRow({ CaptureId: 'cap-big', RequestBody: '{"p":"' + 'ü'.repeat(40_000) + '"}', ResponseBody: 'small response' });
      const normal = makeRow({ CaptureId: 'cap-normal' });
      const result = await sink.write(makeBatch([big, normal]));
      expect(result.ok).toBe(true);
      for (const request of receiver.requests) expect(request.decodedLength).toBeLessThanOrEqual(cap);
      const records = receiver.records();
      expect(records.map((record) => record.attributes['egress_capture.capture_id'])).toEqual(['cap-big', 'cap-normal']);
      const cut = records[0]!.attributes;
      expect(cut['egress_capture.request.body.export_cut']).toBe(true);
      expect(cut['egress_capture.request.body.truncated']).toBe(true);
      const content = cut['http.request.body.content'] as string;
      expect(content.length).toBeGreaterThan(1000);
      expect(big.RequestBody.startsWith(content)).toBe(true);
      // The small body was not touched.
      expect(cut['http.response.body.content']).toBe('small response');
      expect(cut['egress_capture.response.body.export_cut']).toBeUndefined();
      expect(records[1]!.attributes['egress_capture.request.body.export_cut']).toBeUndefined();
      expect((await sink.stats())['recordsCut']).toBe(1);
    });
  });

  it('skips a line that is not a row and exports the rest', async () => {
    await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', env: testEnv() });
    const rows = rowsWithIds(3);
    const result = await sink.write(makeBatch(rows, ['{not json', '{"no":"capture id"}']));
    expect(result.ok).toBe(true);
    expect(receiver.records()).toHaveLength(3);
    expect(await sink.stats()).toMatchObject({ rowsSkipped: 2, recordsExported: 3, requestsSucceeded: 1 });
  });

  it('serializes concurrent writes and accepts them all', async () => {
    await sink.create(testConfig({ otlpEndpoint: base }), { compression: 'none', maxRequestBytes: 16 * KiB, env: testEnv() });
    const batches = [0, 1, 2, 3].map((n) => makeBatch(rowsWithIds(6, { RequestBody: 'y'.repeat(3000) }).map((row) => ({ ...row, CaptureId: `${row.CaptureId}-${n}` }))));
    const results = await Promise.all(batches.map((batch) => sink.write(batch)));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(receiver.records()).toHaveLength(24);
    expect(receiver.requests.length).toBeGreaterThan(4);
  });
});

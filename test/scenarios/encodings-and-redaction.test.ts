/**
 * Content-Encoding and header redaction through the emulator and the real
 * server: S16 (gzip response, BUFFERED: Envoy forwards the compressed bytes,
 * the row holds the decoded JSON), deflate (zlib-wrapped and raw), br and zstd,
 * compressed streams split at arbitrary read boundaries, a compressed body
 * that decodes past maxBytes; and sensitive headers replaced by
 * `[REDACTED len=N hmac=<12 hex>]` (keyed with the data directory's
 * redaction.key), equal secrets giving equal markers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { REDACTION_KEY_FILE, redactionMarker } from '../../src/processing/redaction/redaction-marker';
import { sentNotation, type BodyChunk } from '../emulator';
import { expectCleanExchange, expectHeadAndTail, newRequestId, requestHeaders, startScenarios, type Scenarios } from './scenario-support';

const MAX_BYTES = 65536;
let s: Scenarios;
beforeAll(async () => {
  s = await startScenarios({ maxBytes: MAX_BYTES, extraRedactHeaders: ['x-internal-token'] });
});
afterAll(async () => {
  await s.stop();
});

const DOCUMENT = JSON.stringify({
  id: 'cmpl-42',
  object: 'list',
  data: Array.from({ length: 40 }, (_, i) => ({ index: i, label: `item number ${i}`, tags: ['alpha', 'beta', 'gamma'] })),
});

function reads(data: Buffer, size: number, delayMs = 0): BodyChunk[] {
  const out: BodyChunk[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push({ data: data.subarray(offset, offset + size), delayMs });
  return out;
}

function compressedGet(id: string, encoding: string, wire: Buffer, body: Array<BodyChunk | Buffer> = [wire]) {
  return {
    request: { headers: requestHeaders('GET', `/encoded/${encoding}`, id, [['accept-encoding', 'gzip, deflate, br, zstd']]) },
    response: {
      headers: [
        [':status', '200'],
        ['content-type', 'application/json'],
        ['content-encoding', encoding],
        ['content-length', String(wire.length)],
      ] as Array<[string, string]>,
      body,
    },
  };
}

describe('Content-Encoding', () => {
  test('S16 gzip JSON response, BUFFERED: Envoy sends the compressed bytes, the row holds the decoded JSON and the wire size', async () => {
    const id = newRequestId('s16');
    const wire = zlib.gzipSync(DOCUMENT);
    const result = await s.envoy({ processingMode: { responseBodyMode: 'BUFFERED' } }).runExchange(compressedGet(id, 'gzip', wire, reads(wire, 300, 1)));
    expectCleanExchange(result);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH', `SB(${wire.length},eos)`]);
    const sent = result.sent[2]!.message.response_body!.body!;
    expect([...sent.subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08]);
    // The client gets the bytes untouched.
    expect(result.downstream.body.equals(wire)).toBe(true);
    const row = await s.row(id);
    expect(row.RequestHeaders['accept-encoding']).toBe('gzip, deflate, br, zstd');
    expect(row).toMatchObject({
      ResponseContentEncoding: 'gzip',
      ResponseBody: DOCUMENT,
      ResponseBodyCaptured: true,
      ResponseBodyTruncated: false,
      ResponseBodySize: wire.length,
      ResponseBodyNote: '',
      Outcome: 'complete',
    });
  });

  test.each([
    ['deflate', () => zlib.deflateSync(DOCUMENT)],
    ['br', () => zlib.brotliCompressSync(DOCUMENT)],
    ['zstd', () => zlib.zstdCompressSync(Buffer.from(DOCUMENT))],
  ])('%s JSON response, STREAMED in small reads: decoded whole', async (label, compress) => {
    const encoding = label.split(' ')[0]!;
    const id = newRequestId(`enc-${encoding}`);
    const wire = compress();
    // Reads of 97 bytes split the compressed stream at arbitrary points.
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED' } }).runExchange(compressedGet(id, encoding, wire, reads(wire, 97, 1)));
    expectCleanExchange(result);
    expect(result.downstream.body.equals(wire)).toBe(true);
    const row = await s.row(id);
    expect(row).toMatchObject({ ResponseContentEncoding: encoding, ResponseBody: DOCUMENT, ResponseBodySize: wire.length, ResponseBodyTruncated: false, Outcome: 'complete' });
  });

  // Some servers send raw deflate (no zlib header) for "deflate"; the decoder tells them apart by the first bytes.
  test('deflate without the zlib wrapper (raw deflate) is decoded too', async () => {
    const id = newRequestId('enc-deflate-raw');
    const wire = zlib.deflateRawSync(DOCUMENT);
    await s.envoy({ processingMode: { responseBodyMode: 'BUFFERED' } }).runExchange(compressedGet(id, 'deflate', wire));
    const row = await s.row(id);
    expect(row).toMatchObject({ ResponseContentEncoding: 'deflate', ResponseBody: DOCUMENT, ResponseBodyNote: '' });
  });

  test('a gzip request body is decoded too', async () => {
    const id = newRequestId('gzip-request');
    const wire = zlib.gzipSync(DOCUMENT);
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED' } }).runExchange({
      request: {
        headers: requestHeaders('POST', '/upload', id, [
          ['content-type', 'application/json'],
          ['content-encoding', 'gzip'],
        ]),
        body: [wire],
      },
    });
    expectCleanExchange(result);
    const row = await s.row(id);
    expect(row).toMatchObject({ RequestContentEncoding: 'gzip', RequestBody: DOCUMENT, RequestBodySize: wire.length });
  });

  test('a small gzip body that decodes past maxBytes: decoded, then cut to maxBytes; the size is the wire size', async () => {
    const id = newRequestId('gzip-big');
    const big = JSON.stringify({ rows: Array.from({ length: 4000 }, (_, i) => ({ n: i, text: 'the same words again and again' })) });
    expect(Buffer.byteLength(big)).toBeGreaterThan(3 * MAX_BYTES);
    const wire = zlib.gzipSync(big);
    expect(wire.length).toBeLessThan(MAX_BYTES);
    const result = await s.envoy({ processingMode: { responseBodyMode: 'STREAMED' } }).runExchange(compressedGet(id, 'gzip', wire, reads(wire, 4096, 1)));
    expectCleanExchange(result);
    const row = await s.row(id);
    expect(row).toMatchObject({ ResponseBodyTruncated: true, ResponseBodySize: wire.length, ResponseBodyCaptured: true, Outcome: 'complete' });
    expectHeadAndTail(row.ResponseBody, big, MAX_BYTES);
  });
});

describe('header redaction', () => {
  const marker = (value: string) => redactionMarker(value, fs.readFileSync(path.join(s.harness.dataDir, REDACTION_KEY_FILE), 'utf8').trim(), 'latin1');

  test('sensitive request and response headers are replaced by a marker with length and short hash; others untouched', async () => {
    const id = newRequestId('redact');
    const bearer = 'Bearer sk-test-0123456789abcdef'; // 31 bytes
    const result = await s.envoy().runExchange({
      request: {
        headers: requestHeaders('GET', '/account', id, [
          ['authorization', bearer],
          ['proxy-authorization', 'Basic dXNlcjpwYXNz'],
          ['cookie', 'session=abc123; theme=dark'],
          ['x-api-key', 'key-1'],
          ['api-key', 'key-2'],
          ['x-goog-api-key', 'key-3'],
          ['x-internal-token', 'configured-secret'],
          ['x-not-secret', 'visible'],
        ]),
      },
      response: {
        headers: [
          [':status', '200'],
          ['set-cookie', 'a=1; HttpOnly'],
          ['set-cookie', 'b=2; Secure'],
          ['content-type', 'application/json'],
        ],
      },
    });
    expectCleanExchange(result);
    // Envoy's own traffic is untouched: redaction happens only in what is stored.
    expect(result.upstream.headers).toContainEqual(['authorization', bearer]);
    const row = await s.row(id);
    expect(row.RequestHeaders).toMatchObject({
      authorization: marker(bearer),
      'proxy-authorization': marker('Basic dXNlcjpwYXNz'),
      cookie: marker('session=abc123; theme=dark'),
      'x-api-key': marker('key-1'),
      'api-key': marker('key-2'),
      'x-goog-api-key': marker('key-3'),
      'x-internal-token': marker('configured-secret'),
      'x-not-secret': 'visible',
    });
    expect(row.RequestHeaders.authorization).toMatch(/^\[REDACTED len=31 hmac=[0-9a-f]{12}\]$/);
    // Each repeated set-cookie is redacted on its own, and both are kept.
    expect(row.ResponseHeaders['set-cookie']).toBe(`${marker('a=1; HttpOnly')}\n${marker('b=2; Secure')}`);
    expect(JSON.stringify(row)).not.toContain('sk-test-0123456789abcdef');
    expect(JSON.stringify(row)).not.toContain('abc123');
  });

  test('equal secrets give equal markers across exchanges, different secrets different ones', async () => {
    const envoy = s.envoy();
    const ids = [newRequestId('same-1'), newRequestId('same-2'), newRequestId('other')];
    const keys = ['Bearer shared-token-value', 'Bearer shared-token-value', 'Bearer others-token-value'];
    for (let i = 0; i < ids.length; i++) {
      await envoy.runExchange({ request: { headers: requestHeaders('GET', '/correlate', ids[i]!, [['authorization', keys[i]!]]) }, response: { headers: [[':status', '204']] } });
    }
    const [first, second, other] = await Promise.all(ids.map((id) => s.row(id)));
    expect(first!.RequestHeaders.authorization).toBe(second!.RequestHeaders.authorization);
    expect(first!.RequestHeaders.authorization).not.toBe(other!.RequestHeaders.authorization);
    // Same length, so only the hash tells them apart.
    expect(first!.RequestHeaders.authorization!.slice(0, 20)).toBe(other!.RequestHeaders.authorization!.slice(0, 20));
  });

  test('sensitive trailers are redacted too', async () => {
    const id = newRequestId('redact-trailers');
    await s.envoy({ processingMode: { requestBodyMode: 'STREAMED', requestTrailerMode: 'SEND' } }).runExchange({
      request: {
        headers: requestHeaders('POST', '/t', id, [['content-type', 'application/json']]),
        body: ['{}'],
        trailers: [
          ['x-api-key', 'trailer-key'],
          ['x-sum', '1'],
        ],
      },
    });
    const row = await s.row(id);
    expect(row.RequestTrailers).toEqual({ 'x-api-key': marker('trailer-key'), 'x-sum': '1' });
  });
});

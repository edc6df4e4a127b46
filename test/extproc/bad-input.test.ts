/**
 * Input Envoy would never send, or that an attacker or a broken upstream
 * might: each case gets a log line and a counter, no exchange's traffic is
 * failed (replies still arrive, the call ends OK), and the service stays up
 * for the next exchange.
 */
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { exchange, headers, rawClient } from '../support/raw-extproc-client';

interface Row {
  CaptureId: string;
  Path: string;
  Outcome: string;
  RequestHeaders: Record<string, string>;
  RequestBody: string;
  ResponseBody: string;
  ResponseBodyNote: string;
  RequestBodyNote: string;
  ResponseBodyTruncated: boolean;
  ResponseBodyCaptured: boolean;
  ResponseBodySize: string;
  ResponseBodyDecodedSize: string;
}

function requestHeaders(path: string, extra: Array<[string, string | Buffer]> = []) {
  return {
    request_headers: {
      headers: headers([[':method', 'POST'], [':path', path], [':authority', 'bad-input.test'], [':scheme', 'https'], ['content-type', 'application/json'], ...extra]),
      end_of_stream: false,
    },
    metadata_context: {},
  };
}

function responseHeaders(extra: Array<[string, string]> = []) {
  return { response_headers: { headers: headers([[':status', '200'], ['content-type', 'application/json'], ...extra]), end_of_stream: false }, metadata_context: {} };
}

describe('bad input', () => {
  let harness: CaptureHarness;
  let client: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    harness = await startCaptureHarness({ maxBytes: 4096, streamIdleTimeoutMs: 1000 });
    client = rawClient(harness.grpcAddress);
  });

  afterAll(async () => {
    client.close();
    await harness.stop();
  });

  const rowFor = (path: string): Promise<Row> => harness.rowAt<Row>(path);

  async function stillServes(): Promise<void> {
    const result = await exchange(client, [
      {
        request_headers: {
          headers: headers([
            [':method', 'GET'],
            [':path', '/alive'],
          ]),
          end_of_stream: true,
        },
        metadata_context: {},
      },
      { response_headers: { headers: headers([[':status', '204']]), end_of_stream: true }, metadata_context: {} },
    ]);
    expect(result.replies).toHaveLength(2);
    expect(result.status?.code).toBe(grpc.status.OK);
  }

  it('garbage bytes on the gRPC port close that connection only', async () => {
    const port = Number(harness.grpcAddress.split(':')[1]);
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe garbage')));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.setTimeout(3000, () => socket.destroy());
    });
    await stillServes();
  });

  it('a ProcessingRequest with no part set is ignored and counted, the exchange goes on', async () => {
    const malformedBefore = await harness.metric('egress_capture_extproc_messages_total', { type: 'malformed' });
    const bodiesBefore = await harness.metric('egress_capture_extproc_messages_total', { type: 'request_body' });
    const completeBefore = await harness.metric('egress_capture_exchanges_total', { outcome: 'complete' });
    const result = await exchange(client, [
      requestHeaders('/no-oneof'),
      { metadata_context: {} },
      { request_body: { body: Buffer.from('{}'), end_of_stream: true }, metadata_context: {} },
      { ...responseHeaders(), response_headers: { headers: headers([[':status', '200']]), end_of_stream: true } },
    ]);
    expect(result.replies.map((reply) => reply.response)).toEqual(['request_headers', 'request_body', 'response_headers']);
    expect(result.status?.code).toBe(grpc.status.OK);
    expect(await harness.metric('egress_capture_errors_total', { kind: 'protocol_no_oneof' })).toBe(1);
    expect((await rowFor('/no-oneof')).Outcome).toBe('complete');
    // The per-message and per-exchange counts are tallied off prom-client and still read right.
    expect(await harness.metric('egress_capture_extproc_messages_total', { type: 'malformed' })).toBe(malformedBefore + 1);
    expect(await harness.metric('egress_capture_extproc_messages_total', { type: 'request_body' })).toBe(bodiesBefore + 1);
    expect(await harness.metric('egress_capture_exchanges_total', { outcome: 'complete' })).toBe(completeBefore + 1);
  });

  it('huge header values are cut, not stored whole', async () => {
    const huge = 'v'.repeat(1024 * 1024);
    const result = await exchange(client, [
      requestHeaders('/huge-header', [['x-huge', huge]]),
      { request_body: { body: Buffer.from('{}'), end_of_stream: true }, metadata_context: {} },
      { ...responseHeaders(), response_headers: { headers: headers([[':status', '200']]), end_of_stream: true } },
    ]);
    expect(result.replies).toHaveLength(3);
    expect(result.status?.code).toBe(grpc.status.OK);
    const row = await rowFor('/huge-header');
    expect(row.RequestHeaders['x-huge']!.length).toBeLessThan(20 * 1024);
    expect(row.RequestHeaders['x-huge']).toMatch(/\.\.\.\[1032192 bytes cut\]$/);
  });

  it('an invalid gzip body is stored raw (base64) and flagged', async () => {
    await exchange(client, [
      requestHeaders('/bad-gzip'),
      { request_body: { body: Buffer.from('{}'), end_of_stream: true }, metadata_context: {} },
      responseHeaders([['content-encoding', 'gzip']]),
      { response_body: { body: Buffer.from('definitely not gzip'), end_of_stream: true }, metadata_context: {} },
    ]);
    const row = await rowFor('/bad-gzip');
    expect(row.ResponseBodyNote).toBe('undecodable_stored_base64');
    expect(Buffer.from(row.ResponseBody, 'base64').toString()).toBe('definitely not gzip');
    expect(await harness.metric('egress_capture_body_notes_total', { note: 'undecodable_stored_base64' })).toBeGreaterThanOrEqual(1);
  });

  it('a gzip bomb is decoded only up to maxBytes', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(3 * 1024 * 1024, 0x20), { level: 9 }); // ~1000:1
    expect(bomb.length).toBeLessThan(4096); // fits in the capture cap whole
    await exchange(client, [
      requestHeaders('/gzip-bomb'),
      { request_body: { body: Buffer.from('{}'), end_of_stream: true }, metadata_context: {} },
      responseHeaders([['content-encoding', 'gzip']]),
      { response_body: { body: bomb, end_of_stream: true }, metadata_context: {} },
    ]);
    const row = await rowFor('/gzip-bomb');
    expect(Buffer.byteLength(row.ResponseBody)).toBeLessThanOrEqual(4096);
    expect(row.ResponseBody.startsWith('    ')).toBe(true);
    expect(row.ResponseBodyTruncated).toBe(true);
    expect(row.ResponseBodyNote).toBe('decompression_stopped');
    // Decoding stopped long before the 3 MiB the bomb expands to.
    expect(Number(row.ResponseBodyDecodedSize)).toBeLessThan(1024 * 1024);
    expect(Number(row.ResponseBodySize)).toBe(bomb.length);
  });

  it('non-UTF-8 header and body bytes are kept recognisably', async () => {
    await exchange(client, [
      requestHeaders('/non-utf8', [['x-bytes', Buffer.from([0x61, 0xff, 0xfe, 0x62])]]),
      { request_body: { body: Buffer.from([0x7b, 0xff, 0x00, 0x7d]), end_of_stream: true }, metadata_context: {} },
      { ...responseHeaders(), response_headers: { headers: headers([[':status', '200']]), end_of_stream: true } },
    ]);
    const row = await rowFor('/non-utf8');
    expect(row.RequestHeaders['x-bytes']).toBe('a\\xff\\xfeb');
    expect(row.RequestBodyNote).toBe('binary_stored_base64');
    expect(Buffer.from(row.RequestBody, 'base64')).toEqual(Buffer.from([0x7b, 0xff, 0x00, 0x7d]));
  });

  it('a stream that never ends is closed after the idle limit and stored', async () => {
    const call = client.Process();
    call.on('error', () => undefined);
    // Read the acknowledgments as Envoy does; an unread stream never surfaces its status.
    call.on('data', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.write(requestHeaders('/never-ends'));
    call.write({ request_body: { body: Buffer.from('{"partial":'), end_of_stream: false }, metadata_context: {} });
    // The server ends the call OK after the idle limit: Envoy then proceeds unprocessed.
    expect((await status).code).toBe(grpc.status.OK);
    const row = await rowFor('/never-ends');
    expect(row.Outcome).toBe('idle_timeout');
    expect(row.RequestBody).toBe('{"partial":');
    expect(await harness.metric('egress_capture_errors_total', { kind: 'stream_idle_timeout' })).toBe(1);
    await stillServes();
  });
});

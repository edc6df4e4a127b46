/**
 * The ext_proc port's own gRPC transport, seen from the wire: a raw HTTP/2
 * client (node:http2) writes gRPC frames cut at arbitrary places, several to
 * a DATA frame, compressed, oversized, undecodable, or to a method that does
 * not exist, and checks the replies, the status the call ends with, the
 * stored row and that every other call goes on.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { extProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';
import { headers } from '../support/raw-extproc-client';

const method = extProcServiceDefinition()['Process']!;
const serialize = method.requestSerialize as (value: ProcessingRequest) => Buffer;
const deserialize = method.responseDeserialize as (bytes: Buffer) => ProcessingResponse;

function frame(payload: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

/** The messages of one small exchange ending with the response's end_of_stream. */
function exchangeMessages(path: string): ProcessingRequest[] {
  return [
    {
      request_headers: {
        headers: headers([
          [':method', 'POST'],
          [':path', path],
          [':authority', 'transport.test'],
          [':scheme', 'https'],
          ['content-type', 'application/json'],
        ]),
        end_of_stream: false,
      },
      protocol_config: { request_body_mode: 1, response_body_mode: 1 },
    },
    { request_body: { body: Buffer.from(`{"asked":"${path}"}`), end_of_stream: true } },
    {
      response_headers: {
        headers: headers([
          [':status', '200'],
          ['content-type', 'application/json'],
        ]),
        end_of_stream: false,
      },
    },
    { response_body: { body: Buffer.from('{"answer":'), end_of_stream: false } },
    { response_body: { body: Buffer.from('42}'), end_of_stream: true } },
  ];
}

interface CallResult {
  httpStatus: number | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  replies: ProcessingResponse[];
}

/** One call on `session`: writes `chunks` as separate DATA writes, half-closes, reads to the end. */
function call(session: http2.ClientHttp2Session, chunks: Buffer[], options: { path?: string; headers?: http2.OutgoingHttpHeaders } = {}): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': options.path ?? method.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.headers,
    });
    const result: CallResult = { httpStatus: undefined, grpcStatus: undefined, grpcMessage: undefined, replies: [] };
    const received: Buffer[] = [];
    const takeStatus = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) result.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) result.grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', (h) => {
      result.httpStatus = Number(h[':status']);
      takeStatus(h);
    });
    stream.on('trailers', takeStatus);
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      const bytes = Buffer.concat(received);
      for (let at = 0; at + 5 <= bytes.length;) {
        const length = bytes.readUInt32BE(at + 1);
        result.replies.push(deserialize(bytes.subarray(at + 5, at + 5 + length)));
        at += 5 + length;
      }
      resolve(result);
    });
    const writeNext = (i: number): void => {
      if (i === chunks.length) {
        stream.end();
        return;
      }
      // One write per turn of the loop, so each leaves as its own DATA frame.
      stream.write(chunks[i], () => setImmediate(() => writeNext(i + 1)));
    };
    writeNext(0);
  });
}

/** `bytes` cut into pieces at the given offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...offsets, bytes.length]) {
    if (to > from) pieces.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  return pieces;
}

describe('the ext_proc gRPC transport', () => {
  let harness: CaptureHarness;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    harness = await startCaptureHarness({ grpcMaxReceiveMessageBytes: 4 * 1024 * 1024 });
    session = http2.connect(`http://${harness.grpcAddress}`);
  });

  afterAll(async () => {
    session.close();
    await harness.stop();
  });

  it('reads messages cut anywhere and packed several to a DATA frame, answering each in order', async () => {
    const whole = Buffer.concat(exchangeMessages('/cut').map((m) => frame(serialize(m))));
    // Cuts inside a prefix, inside a header block, between messages, and every message in one frame.
    const plans = [[], [1], [3, 4], [5], [7, 8, 9, 60], [whole.length - 2], Array.from({ length: whole.length - 1 }, (_, i) => i + 1)];
    for (const [n, plan] of plans.entries()) {
      const path = `/cut/${n}`;
      const bytes = Buffer.concat(exchangeMessages(path).map((m) => frame(serialize(m))));
      const result = await call(session, cut(bytes, plan));
      expect({ plan: n, status: result.grpcStatus, replies: result.replies.map((r) => r.response) }).toEqual({
        plan: n,
        status: '0',
        replies: ['request_headers', 'request_body', 'response_headers', 'response_body', 'response_body'],
      });
      const row = await harness.rowAt<{ RequestBody: string; ResponseBody: string; Outcome: string }>(path);
      expect(row).toMatchObject({ RequestBody: `{"asked":"${path}"}`, ResponseBody: '{"answer":42}', Outcome: 'complete' });
    }
  });

  it('inflates messages sent gzip- or deflate-compressed', async () => {
    for (const [encoding, compress] of [
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
    ] as const) {
      const path = `/compressed/${encoding}`;
      const bytes = Buffer.concat(exchangeMessages(path).map((m, i) => (i % 2 === 0 ? frame(compress(serialize(m)), true) : frame(serialize(m)))));
      const result = await call(session, [bytes], { headers: { 'grpc-encoding': encoding } });
      expect(result.grpcStatus).toBe('0');
      expect(result.replies).toHaveLength(5);
      expect((await harness.rowAt<{ ResponseBody: string }>(path)).ResponseBody).toBe('{"answer":42}');
    }
  });

  it('ends a call whose message is over the receive limit with RESOURCE_EXHAUSTED, keeping what came before it', async () => {
    const [first, second] = exchangeMessages('/oversized');
    const big: ProcessingRequest = { request_body: { body: Buffer.alloc(5 * 1024 * 1024, 0x61), end_of_stream: true } };
    const result = await call(session, [frame(serialize(first!)), frame(serialize(big))]);
    expect(result.grpcStatus).toBe('8');
    expect(result.grpcMessage).toMatch(/larger than max/);
    expect(result.replies.map((r) => r.response)).toEqual(['request_headers']);
    void second;
    const row = await harness.rowAt<{ Outcome: string }>('/oversized');
    expect(row.Outcome).not.toBe('complete');
    expect(await harness.metric('egress_capture_errors_total', { kind: 'stream_error' })).toBeGreaterThanOrEqual(1);
  });

  it('ends a call whose message does not decode with INTERNAL; the next call on the connection is served', async () => {
    const [first] = exchangeMessages('/undecodable');
    // Field 2 (request_body) as a length-delimited field whose length runs past the end.
    const broken = Buffer.from([0x12, 0x7f, 0x0a]);
    const before = await harness.metric('egress_capture_errors_total', { kind: 'protocol_undecodable' });
    const result = await call(session, [frame(serialize(first!)), frame(broken)]);
    expect(result.grpcStatus).toBe('13');
    expect(result.grpcMessage).toMatch(/ProcessingRequest could not be decoded/);
    expect(await harness.metric('egress_capture_errors_total', { kind: 'protocol_undecodable' })).toBe(before + 1);
    expect((await harness.rowAt<{ Outcome: string }>('/undecodable')).Outcome).not.toBe('complete');

    const next = await call(session, [Buffer.concat(exchangeMessages('/after-undecodable').map((m) => frame(serialize(m))))]);
    expect(next.grpcStatus).toBe('0');
    expect((await harness.rowAt<{ Outcome: string }>('/after-undecodable')).Outcome).toBe('complete');
  });

  it('answers a method it does not serve with UNIMPLEMENTED and a non-gRPC request with 415', async () => {
    const unknown = await call(session, [frame(Buffer.alloc(0))], { path: '/envoy.service.ext_proc.v3.ExternalProcessor/Other' });
    expect(unknown.httpStatus).toBe(200);
    expect(unknown.grpcStatus).toBe('12');
    const plain = await call(session, [Buffer.from('{}')], { headers: { 'content-type': 'application/json' } });
    expect(plain.httpStatus).toBe(415);
  });

  it('ends a call whose stream stops in the middle of a message with INTERNAL, storing what came whole', async () => {
    const [first, second] = exchangeMessages('/half-message');
    const partial = frame(serialize(second!)).subarray(0, 8);
    const result = await call(session, [frame(serialize(first!)), partial]);
    expect(result.grpcStatus).toBe('13');
    expect(result.grpcMessage).toMatch(/middle of a message/);
    expect((await harness.rowAt<{ Outcome: string }>('/half-message')).Outcome).not.toBe('complete');
  });
});

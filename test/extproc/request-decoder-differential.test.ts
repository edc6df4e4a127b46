/**
 * The hand-written ProcessingRequest reader against the generic one
 * (proto-loader's deserializer: protobufjs decode + toObject): the same
 * object for
 *   - every message the emulator sends, over every processing mode, trailers,
 *     attributes, forwarded metadata and observability mode;
 *   - random messages encoded with a newer schema than ours (fields Envoy's
 *     upstream protos have and ours do not, at every level), so unknown fields
 *     of every wire type are skipped the same way;
 * and malformed input (truncations, lengths past the end, bad wire types)
 * throws instead of returning half a message or hanging.
 */
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as protobuf from 'protobufjs';
import { decodeProcessingRequest } from '../../src/extproc/wire/processing-request-decoder';
import { extProcServiceDefinition, PROTO_LOADER_OPTIONS, PROTO_ROOT, type ProcessingRequest } from '../../src/extproc/wire/protocol';
import { EnvoyEmulator } from '../emulator/envoy-emulator';
import type { ExchangeOptions } from '../emulator/emulator-options';
import { FakeProcessor } from '../emulator/fake-processors';
import type { HttpExchangeSpec } from '../emulator/http-exchange-spec';
import { chatCompletionExchange } from '../emulator/realistic-exchanges';

const method = extProcServiceDefinition()['Process']!;
const generic = method.requestDeserialize as (buf: Buffer) => ProcessingRequest;
const serialize = method.requestSerialize as (value: ProcessingRequest) => Buffer;

function expectSameDecoding(bytes: Buffer, label: string): void {
  const expected = generic(bytes);
  const actual = decodeProcessingRequest(bytes);
  // toStrictEqual: same keys (no extra undefined ones), same types (Buffers as Buffers).
  if (!isDeepStrictEqual(actual, expected)) expect({ label, actual }).toStrictEqual({ label, actual: expected });
}

describe('ProcessingRequest reader: what the emulator sends', () => {
  const processor = new FakeProcessor();
  let target = '';
  beforeAll(async () => {
    target = await processor.start();
  });
  afterAll(() => processor.stop());

  const upload = (trailers: boolean): HttpExchangeSpec => ({
    request: {
      headers: [
        [':method', 'POST'],
        [':path', '/v1/upload?x=1'],
        [':scheme', 'https'],
        [':authority', 'api.example'],
        ['content-type', 'application/json'],
        ['x-bin', 'caf\u00e9'],
      ],
      body: ['{"a":', '"b"', '}'],
      trailers: trailers ? [['x-checksum', 'abc']] : undefined,
    },
    response: {
      headers: [
        [':status', '200'],
        ['content-type', 'text/event-stream'],
      ],
      body: ['data: 1\n\n', 'data: 2\n\n'],
      trailers: trailers ? [['grpc-status', '0']] : undefined,
    },
    requestAttributes: { 'request.id': 'r-1', 'source.address': '10.0.0.1:5555', 'request.size': 12, 'connection.mtls': false },
    responseAttributes: { 'response.code': 200 },
    dynamicMetadata: { 'egress.test': { tenant: 'team-a', quota: 3, enabled: true }, private: { secret: 'x' } },
  });

  const configurations: Array<[string, Omit<ExchangeOptions, 'target'>, HttpExchangeSpec]> = [
    ['default modes', {}, upload(false)],
    ['streamed with trailers', { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED', requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' } }, upload(true)],
    ['buffered', { processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } }, upload(false)],
    ['buffered partial', { processingMode: { requestBodyMode: 'BUFFERED_PARTIAL', responseBodyMode: 'BUFFERED_PARTIAL' } }, upload(false)],
    ['full duplex', { processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', responseBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' } }, upload(true)],
    ['observability mode', { observabilityMode: true, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } }, upload(false)],
    [
      'attributes and forwarded metadata',
      { requestAttributes: { 'request.id': '', 'source.address': '', 'request.size': 0, 'connection.mtls': true }, responseAttributes: { 'response.code': 0 }, forwardingNamespaces: ['egress.test'] },
      upload(false),
    ],
    ['pre-1.27 header values', { headerValueField: 'value', processingMode: { requestBodyMode: 'STREAMED' } }, upload(false)],
    ['a streamed chat completion', { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } }, chatCompletionExchange()],
  ];

  it.each(configurations)('%s', async (_name, options, spec) => {
    const emulator = new EnvoyEmulator({ target, ...options });
    try {
      const result = await emulator.runExchange(spec);
      expect(result.sent.length).toBeGreaterThan(1);
      for (const [i, { message }] of result.sent.entries()) expectSameDecoding(serialize(message), `message ${i}`);
    } finally {
      emulator.close();
    }
  });
});

/** A deterministic pseudo-random source (xorshift32), so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

/**
 * Our schema with fields only a newer peer knows, one of each wire type and a
 * nested message, on every message type the reader walks.
 */
function newerSchema(): protobuf.Root {
  const root = new protobuf.Root();
  // Imports resolve under protos/, as proto-loader's includeDirs does; google/protobuf/* are protobufjs' own.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : path.join(PROTO_ROOT, target));
  root.loadSync('envoy/service/ext_proc/v3/external_processor.proto');
  root.resolveAll();
  const extra = (typeName: string, first: number): void => {
    const type = root.lookupType(typeName);
    type.add(new protobuf.Field('future_varint', first, 'uint64'));
    type.add(new protobuf.Field('future_fixed64', first + 1, 'fixed64'));
    type.add(new protobuf.Field('future_fixed32', first + 2, 'fixed32'));
    type.add(new protobuf.Field('future_text', first + 3, 'string'));
    type.add(new protobuf.Field('future_message', first + 4, 'google.protobuf.Struct'));
  };
  extra('envoy.service.ext_proc.v3.ProcessingRequest', 100);
  extra('envoy.service.ext_proc.v3.HttpHeaders', 20);
  extra('envoy.service.ext_proc.v3.HttpBody', 20);
  extra('envoy.service.ext_proc.v3.HttpTrailers', 20);
  extra('envoy.service.ext_proc.v3.ProtocolConfiguration', 20);
  extra('envoy.config.core.v3.HeaderMap', 20);
  extra('envoy.config.core.v3.HeaderValue', 20);
  extra('envoy.config.core.v3.Metadata', 20);
  extra('google.protobuf.Struct', 20);
  extra('google.protobuf.Value', 20);
  extra('google.protobuf.ListValue', 20);
  root.resolveAll();
  return root;
}

function randomMessage(next: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (p: number): boolean => next() < p;
  const text = (max: number): string => Array.from({ length: Math.floor(next() * max) }, () => pick(['a', 'Z', '0', ':', '-', ' ', '\u00e9', '\u4e2d', '\u{1f600}'])).join('');
  const bytes = (max: number): Buffer => Buffer.from(Array.from({ length: Math.floor(next() * max) }, () => Math.floor(next() * 256)));
  const future = (into: Record<string, unknown>): Record<string, unknown> => {
    if (chance(0.3)) into.future_varint = Math.floor(next() * 2 ** 40);
    if (chance(0.2)) into.future_fixed64 = Math.floor(next() * 2 ** 30);
    if (chance(0.2)) into.future_fixed32 = Math.floor(next() * 2 ** 31);
    if (chance(0.3)) into.future_text = text(12);
    if (chance(0.1)) into.future_message = { fields: { k: { stringValue: text(5) } } };
    return into;
  };
  const value = (depth: number): Record<string, unknown> => {
    const kinds = depth > 2 ? ['null', 'number', 'string', 'bool'] : ['null', 'number', 'string', 'bool', 'struct', 'list'];
    const out: Record<string, unknown> = {};
    switch (pick(kinds)) {
      case 'null':
        out.nullValue = 0;
        break;
      case 'number':
        out.numberValue = pick([0, -1.5, 42, 1e300, Number.MAX_SAFE_INTEGER, next()]);
        break;
      case 'string':
        out.stringValue = text(20);
        break;
      case 'bool':
        out.boolValue = chance(0.5);
        break;
      case 'struct':
        out.structValue = struct(depth + 1);
        break;
      default:
        out.listValue = future({ values: Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)) });
    }
    return future(out);
  };
  const struct = (depth: number): Record<string, unknown> => {
    const fields: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 4); i > 0; i--) fields[text(10)] = value(depth);
    return future({ fields });
  };
  const headerMap = (): Record<string, unknown> =>
    future({
      headers: Array.from({ length: Math.floor(next() * 6) }, () => {
        const header: Record<string, unknown> = {};
        if (chance(0.9)) header.key = text(16);
        if (chance(0.3)) header.value = text(16);
        if (chance(0.8)) header.raw_value = bytes(40);
        return future(header);
      }),
    });
  const message: Record<string, unknown> = {};
  switch (pick(['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers', 'none'])) {
    case 'request_headers':
    case 'response_headers':
      message[chance(0.5) ? 'request_headers' : 'response_headers'] = future({ ...(chance(0.9) ? { headers: headerMap() } : {}), ...(chance(0.5) ? { end_of_stream: chance(0.5) } : {}) });
      break;
    case 'request_body':
    case 'response_body':
      message[chance(0.5) ? 'request_body' : 'response_body'] = future({ ...(chance(0.9) ? { body: bytes(300) } : {}), ...(chance(0.5) ? { end_of_stream: chance(0.5) } : {}) });
      break;
    case 'request_trailers':
    case 'response_trailers':
      message[chance(0.5) ? 'request_trailers' : 'response_trailers'] = future(chance(0.8) ? { trailers: headerMap() } : {});
      break;
    default:
  }
  if (chance(0.5)) message.metadata_context = future(chance(0.5) ? { filter_metadata: { [text(8)]: struct(0), [text(8)]: struct(0) } } : {});
  if (chance(0.4)) message.attributes = { 'envoy.filters.http.ext_proc': struct(0), ...(chance(0.2) ? { [text(6)]: struct(0) } : {}) };
  if (chance(0.3)) message.observability_mode = chance(0.5);
  if (chance(0.3))
    message.protocol_config = future({ request_body_mode: Math.floor(next() * 6), response_body_mode: Math.floor(next() * 6), send_body_without_waiting_for_header_response: chance(0.5) });
  return future(message);
}

describe('ProcessingRequest reader: random messages from a newer schema', () => {
  const root = newerSchema();
  const Request = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');

  it('decodes 3,000 of them exactly as the generic reader does', () => {
    const next = random(20261206);
    for (let i = 0; i < 3000; i++) {
      const object = randomMessage(next);
      const bytes = Buffer.from(Request.encode(Request.fromObject(object)).finish());
      expectSameDecoding(bytes, `random message ${i}: ${JSON.stringify(object).slice(0, 400)}`);
    }
  });

  it('skips unknown fields between the known ones at the top level', () => {
    const next = random(7);
    for (let i = 0; i < 300; i++) {
      const a = Buffer.from(Request.encode(Request.fromObject(randomMessage(next))).finish());
      const b = Buffer.from(Request.encode(Request.fromObject({ future_varint: i, future_text: 'x'.repeat(i % 7) })).finish());
      // Concatenated messages are one message (later scalars win, repeated fields append).
      expectSameDecoding(Buffer.concat([b, a, b]), `concatenated ${i}`);
    }
  });

  it('is compared with the generic reader as the project configures it (absent fields stay absent)', () => {
    expect(PROTO_LOADER_OPTIONS.defaults).toBe(false);
  });
});

describe('ProcessingRequest reader: malformed input', () => {
  const valid = serialize({
    request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/x') }] }, end_of_stream: true },
    attributes: { 'envoy.filters.http.ext_proc': { fields: { 'request.id': { stringValue: 'r', kind: 'stringValue' } } } as never },
  });

  it('agrees with the generic reader on every truncation: a cut field throws, a cut between fields is a shorter message', () => {
    const outcome = (decode: (bytes: Buffer) => ProcessingRequest, bytes: Buffer): unknown => {
      try {
        return decode(bytes);
      } catch {
        return 'threw';
      }
    };
    let whole = 0;
    for (let cut = 1; cut < valid.length; cut++) {
      const expected = outcome(generic, valid.subarray(0, cut));
      expect({ cut, outcome: outcome(decodeProcessingRequest, valid.subarray(0, cut)) }).toStrictEqual({ cut, outcome: expected });
      if (expected !== 'threw') whole++;
    }
    // One cut falls between the two top-level fields.
    expect(whole).toBe(1);
  });

  it.each([
    ['a length past the end', Buffer.from([0x12, 0x05, 0x0a])],
    ['a group wire type', Buffer.from([0x13, 0x14])],
    ['wire type 7', Buffer.from([0x17])],
    ['field number 0', Buffer.from([0x02, 0x00])],
    ['an eleven-byte varint', Buffer.from([0x50, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    // attributes { "k": Struct { fields { "": Value { number_value: 3 bytes of 8 } } } }
    ['a truncated double in a Value', Buffer.from([0x4a, 13, 0x0a, 1, 0x6b, 0x12, 8, 0x0a, 6, 0x12, 4, 0x11, 1, 2, 3])],
  ])('throws on %s', (_name, bytes) => {
    expect(() => decodeProcessingRequest(bytes)).toThrow();
  });

  it('returns or throws, never hangs, on random bytes', () => {
    const next = random(99);
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
      try {
        decodeProcessingRequest(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
    }
  });
});

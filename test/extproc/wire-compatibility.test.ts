/**
 * Proves the project's own ext_proc protos (protos/) are wire-compatible with
 * Envoy's upstream definitions as shipped in the registry package
 * @grpc/grpc-js-xds (deps/envoy-api with its xds, googleapis and
 * protoc-gen-validate include trees): every message, field and enum value we
 * declare must have the same number, type and label upstream, and bytes must
 * round-trip both ways.
 *
 * That snapshot predates a few things Envoy sends today (FULL_DUPLEX_STREAMED,
 * GRPC, protocol_config, streamed_response). Those are asserted absent upstream,
 * so the test fails and gets updated when a newer snapshot arrives, and checked
 * against the numbers the reference documents instead.
 */
import * as protobuf from 'protobufjs';
import { extProcServiceDefinition, type ProcessingResponse } from '../../src/extproc/wire/protocol';
import { acknowledgment, streamedBodyEcho, withEncodedAcknowledgments } from '../../src/extproc/replies';
import { declaredTypes, fieldShape, loadRoot, OUR_PROTOS, UPSTREAM_INCLUDES } from '../support/proto-roots';

const ENTRY = 'envoy/service/ext_proc/v3/external_processor.proto';

/** Declared by us, absent from the registry snapshot; numbers from the reference (§2.4, §5.2). */
const NEWER_THAN_SNAPSHOT = {
  fields: {
    '.envoy.service.ext_proc.v3.ProcessingRequest': { protocol_config: 11 },
    '.envoy.service.ext_proc.v3.BodyMutation': { streamed_response: 3 },
  } as Record<string, Record<string, number>>,
  messages: {
    // Field numbers as in envoyproxy/envoy api/envoy/service/ext_proc/v3/external_processor.proto (1.34+).
    '.envoy.service.ext_proc.v3.ProtocolConfiguration': {
      request_body_mode: 1,
      response_body_mode: 2,
      send_body_without_waiting_for_header_response: 3,
    },
    '.envoy.service.ext_proc.v3.StreamedBodyResponse': { body: 1, end_of_stream: 2 },
  } as Record<string, Record<string, number>>,
  enumValues: {
    '.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode': { FULL_DUPLEX_STREAMED: 4, GRPC: 5 },
  } as Record<string, Record<string, number>>,
};

describe('wire compatibility of protos/ with Envoy upstream (@grpc/grpc-js-xds envoy-api)', () => {
  const ours = loadRoot(ENTRY, [OUR_PROTOS]);
  const upstream = loadRoot(ENTRY, UPSTREAM_INCLUDES);
  const types = declaredTypes(ours);

  test('the upstream snapshot and our protos load', () => {
    expect(types.length).toBeGreaterThan(15);
    expect(upstream.lookupType('.envoy.service.ext_proc.v3.ProcessingRequest')).toBeDefined();
  });

  test.each(types.map((t) => [t.fullName, t] as const))('%s matches upstream', (fullName, ourType) => {
    const newerMessage = NEWER_THAN_SNAPSHOT.messages[fullName];
    const theirs = upstream.lookup(fullName);
    if (newerMessage) {
      expect(theirs).toBeNull(); // a newer snapshot arrived: move this entry into the normal comparison
      const numbers = Object.fromEntries((ourType as protobuf.Type).fieldsArray.map((f) => [f.name, f.id]));
      expect(numbers).toEqual(newerMessage);
      return;
    }
    if (ourType instanceof protobuf.Enum) {
      expect(theirs).toBeInstanceOf(protobuf.Enum);
      const upstreamValues = (theirs as protobuf.Enum).values;
      const newer = NEWER_THAN_SNAPSHOT.enumValues[fullName] ?? {};
      for (const [name, number] of Object.entries(ourType.values)) {
        if (name in newer) {
          expect({ name, present: name in upstreamValues }).toEqual({ name, present: false });
          expect({ name, number }).toEqual({ name, number: newer[name] });
        } else {
          expect({ name, number }).toEqual({ name, number: upstreamValues[name] });
        }
      }
      return;
    }
    expect(theirs).toBeInstanceOf(protobuf.Type);
    const upstreamType = theirs as protobuf.Type;
    const newerFields = NEWER_THAN_SNAPSHOT.fields[fullName] ?? {};
    for (const field of ourType.fieldsArray) {
      const upstreamField = upstreamType.fieldsById[field.id];
      if (field.name in newerFields) {
        expect({ field: field.name, upstream: upstreamField?.name }).toEqual({ field: field.name, upstream: undefined });
        expect({ field: field.name, number: field.id }).toEqual({ field: field.name, number: newerFields[field.name] });
        continue;
      }
      expect({ number: field.id, ...fieldShape(field) }).toEqual({ number: field.id, ...(upstreamField ? fieldShape(upstreamField) : {}) });
    }
    // Reserved numbers and names we declare must be reserved upstream too.
    for (const reserved of ourType.reserved ?? []) {
      expect(upstreamType.reserved).toContainEqual(reserved);
    }
  });

  test('the service and its method match', () => {
    const method = (root: protobuf.Root) => {
      const m = root.lookupService('.envoy.service.ext_proc.v3.ExternalProcessor').methods.Process;
      m.resolve();
      return { request: m.resolvedRequestType!.fullName, response: m.resolvedResponseType!.fullName, rs: m.requestStream, ss: m.responseStream };
    };
    expect(method(ours)).toEqual(method(upstream));
  });

  describe('byte-level round trip', () => {
    const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false };
    const nonUtf8 = Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x6f]);

    const requests: Record<string, object> = {
      'request headers with metadata and attributes': {
        request_headers: {
          headers: {
            headers: [
              { key: ':method', raw_value: Buffer.from('POST') },
              { key: 'x-bin', raw_value: nonUtf8 },
              { key: 'legacy', value: 'v' },
            ],
          },
          end_of_stream: false,
        },
        metadata_context: { filter_metadata: { 'envoy.filters.listener.proxy_protocol': { fields: { ns: { stringValue: 'team-a' } } } } },
        attributes: {
          'envoy.filters.http.ext_proc': {
            fields: { 'source.address': { stringValue: '10.0.0.1:443' }, 'response.code': { numberValue: 200 }, 'connection.mtls': { boolValue: true } },
          },
        },
        observability_mode: true,
      },
      'response body chunk': { response_body: { body: nonUtf8, end_of_stream: true }, metadata_context: {} },
      'request trailers': { request_trailers: { trailers: { headers: [{ key: 'grpc-status', raw_value: Buffer.from('0') }] } } },
    };
    const responses: Record<string, object> = {
      'headers reply with mutations': {
        request_headers: {
          response: {
            status: 1,
            header_mutation: { set_headers: [{ header: { key: 'x-a', raw_value: Buffer.from('1') }, append: { value: true } }], remove_headers: ['x-b'] },
            body_mutation: { body: Buffer.from('new') },
          },
        },
        dynamic_metadata: { fields: { k: { stringValue: 'v' } } },
        override_message_timeout: { seconds: '2', nanos: 5 },
      },
      'body reply clearing the body': { response_body: { response: { body_mutation: { clear_body: true } } } },
      'trailers reply': { response_trailers: { header_mutation: { remove_headers: ['x-c'] } } },
      'immediate response': { immediate_response: { details: 'blocked_by_policy' } },
    };

    const roundTrip = (typeName: string, samples: Record<string, object>) => {
      const ourType = ours.lookupType(typeName);
      const upstreamType = upstream.lookupType(typeName);
      for (const [name, sample] of Object.entries(samples)) {
        const oursEncoded = ourType.encode(ourType.fromObject(sample)).finish();
        const upstreamEncoded = upstreamType.encode(upstreamType.fromObject(sample)).finish();
        // Same bytes whoever encodes, and each side decodes the other's bytes to the same message.
        expect({ name, bytes: Buffer.from(oursEncoded).toString('hex') }).toEqual({ name, bytes: Buffer.from(upstreamEncoded).toString('hex') });
        expect(upstreamType.toObject(upstreamType.decode(oursEncoded), TO_OBJECT)).toEqual(ourType.toObject(ourType.fromObject(sample), TO_OBJECT));
        expect(ourType.toObject(ourType.decode(upstreamEncoded), TO_OBJECT)).toEqual(upstreamType.toObject(upstreamType.fromObject(sample), TO_OBJECT));
      }
    };

    test('ProcessingRequest', () => roundTrip('.envoy.service.ext_proc.v3.ProcessingRequest', requests));
    test('ProcessingResponse', () => roundTrip('.envoy.service.ext_proc.v3.ProcessingResponse', responses));

    test('newer fields travel as unknown fields without disturbing the rest', () => {
      const ourRequest = ours.lookupType('.envoy.service.ext_proc.v3.ProcessingRequest');
      const bytes = ourRequest.encode(ourRequest.fromObject({ request_headers: { end_of_stream: true }, protocol_config: { request_body_mode: 4, response_body_mode: 1 } })).finish();
      const decoded = upstream.lookupType('.envoy.service.ext_proc.v3.ProcessingRequest').toObject(upstream.lookupType('.envoy.service.ext_proc.v3.ProcessingRequest').decode(bytes), TO_OBJECT);
      expect(decoded).toEqual({ request_headers: { end_of_stream: true } });
      // Tag 11, length-delimited: what a 1.34+ Envoy puts on the wire for protocol_config.
      expect(Buffer.from(bytes).includes(Buffer.from([0x5a]))).toBe(true);

      const ourResponse = ours.lookupType('.envoy.service.ext_proc.v3.ProcessingResponse');
      const streamed = ourResponse.encode(ourResponse.fromObject({ request_body: { response: { body_mutation: { streamed_response: { body: Buffer.from('abc'), end_of_stream: true } } } } })).finish();
      // BodyResponse(3) > CommonResponse(1) > BodyMutation(3) > StreamedBodyResponse(3) { body(1), end_of_stream(2) }.
      expect(Buffer.from(streamed).toString('hex')).toBe('1a0d0a0b1a091a070a03616263' + '1001');
    });

    test('the acknowledgments a server sends, encoded once at start-up, are what Envoy decodes as CONTINUE of the same part', () => {
      const plain = extProcServiceDefinition()['Process']!.responseSerialize as (value: ProcessingResponse) => Buffer;
      const cached = withEncodedAcknowledgments(extProcServiceDefinition())['Process']!.responseSerialize as (value: ProcessingResponse) => Buffer;
      const upstreamResponse = upstream.lookupType('.envoy.service.ext_proc.v3.ProcessingResponse');
      const parts = ['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'] as const;
      for (const part of parts) {
        const bytes = cached(acknowledgment(part));
        expect({ part, hex: bytes.toString('hex') }).toEqual({ part, hex: plain(acknowledgment(part)).toString('hex') });
        const decoded = upstreamResponse.toObject(upstreamResponse.decode(bytes), { ...TO_OBJECT, oneofs: true }) as Record<string, unknown>;
        expect(decoded['response']).toBe(part);
      }
      // The same call twice hands out the same bytes; anything else is still encoded per call.
      expect(cached(acknowledgment('response_body'))).toBe(cached(acknowledgment('response_body')));
      const echo = cached(streamedBodyEcho('request_body', Buffer.from('abc'), true));
      expect(echo.toString('hex')).toBe('1a0d0a0b1a091a070a03616263' + '1001');
    });
  });
});

/**
 * ProcessingRequest read straight off the wire, in one pass.
 *
 * Every message Envoy sends passes through here on the gRPC event loop, so
 * the generic path (protobufjs decode into message instances, then toObject
 * into plain objects, as proto-loader's deserializer does) costs twice the
 * allocations for nothing we keep. This reader builds the plain objects
 * directly and produces exactly what that path produces with
 * PROTO_LOADER_OPTIONS (test/extproc/request-decoder-differential.test.ts
 * holds it to that, on every shape the emulator sends, unknown fields, and
 * random messages):
 * - a field is set only when it is on the wire (defaults: false), the last
 *   occurrence of a scalar or message field wins (protobufjs does not merge
 *   repeated occurrences of a message field), repeated and map fields
 *   appear only when non-empty;
 * - bytes are views into the received buffer (protobufjs' BufferReader
 *   slices too), strings are decoded as UTF-8 with replacement;
 * - oneofs get their virtual field naming the member set (the last declared
 *   one if several are, as protobufjs' getter does);
 * - enums stay numbers; unknown fields are skipped by wire type.
 *
 * Field numbers come from protos/ (external_processor.proto, base.proto,
 * google/protobuf/struct.proto). Anything malformed (a truncated field, a
 * length past the end, a group or a reserved wire type) throws, and the
 * stream it came on ends with INTERNAL (process-stream.ts); other streams go on.
 */
import type {
  HeaderMap,
  HeaderValue,
  HttpBody,
  HttpHeaders,
  HttpTrailers,
  ProcessingRequest,
  ProcessingRequestPart,
  ProtoAny,
  ProtoMetadata,
  ProtoStruct,
  ProtoValue,
  ProtocolConfiguration,
} from './protocol';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** The oneof `request` members, by field number, in declaration order. */
const REQUEST_PARTS: ReadonlyArray<ProcessingRequestPart | undefined> = [
  undefined,
  undefined,
  'request_headers',
  'response_headers',
  'request_body',
  'response_body',
  'request_trailers',
  'response_trailers',
];

/** google.protobuf.Value's `kind` members, by field number. */
const VALUE_KINDS: ReadonlyArray<ProtoValue['kind']> = [undefined, 'nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'];

export class MalformedMessage extends Error {}

/** A cursor over one message's bytes [pos, end). */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** A varint as a JS number (exact to 2^53; field tags and lengths are far below). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new MalformedMessage('truncated varint');
      const byte = buf[this.pos++]!;
      if (shift < 28) result |= (byte & 0x7f) << shift;
      else result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return shift < 28 ? result >>> 0 : result;
      shift += 7;
      if (shift > 63) throw new MalformedMessage('varint longer than 10 bytes');
    }
  }

  /** A varint read as a bool: any non-zero value is true (protobufjs reads the low 32 bits... and the high ones). */
  bool(): boolean {
    const buf = this.buf;
    let nonZero = false;
    for (let count = 0; ; count++) {
      if (this.pos >= this.end) throw new MalformedMessage('truncated varint');
      if (count >= 10) throw new MalformedMessage('varint longer than 10 bytes');
      const byte = buf[this.pos++]!;
      if ((byte & 0x7f) !== 0) nonZero = true;
      if (byte < 0x80) return nonZero;
    }
  }

  /** An int32 enum as protobufjs reads it: the varint's low 32 bits, signed. */
  int32(): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new MalformedMessage('truncated varint');
      if (this.pos - start >= 10) throw new MalformedMessage('varint longer than 10 bytes');
      const byte = this.buf[this.pos++]!;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result | 0;
    }
  }

  /** The bounds of a length-delimited field's payload; the cursor moves past it. */
  span(): number {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw new MalformedMessage('length past the end of the message');
    this.pos = start + length;
    return start;
  }

  string(): string {
    const start = this.span();
    return this.buf.toString('utf8', start, this.pos);
  }

  bytes(): Buffer {
    const start = this.span();
    return this.buf.subarray(start, this.pos);
  }

  sub(): Reader {
    const start = this.span();
    return new Reader(this.buf, start, this.pos);
  }

  double(): number {
    if (this.end - this.pos < 8) throw new MalformedMessage('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.span();
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        // Groups (3, 4) are proto2-only and 6, 7 do not exist: nothing Envoy sends.
        throw new MalformedMessage(`wire type ${wireType} not expected`);
    }
  }

  private advance(count: number): void {
    if (this.end - this.pos < count) throw new MalformedMessage('truncated fixed-width field');
    this.pos += count;
  }
}

/** Reads one ProcessingRequest (the message bytes of one gRPC frame). */
export function decodeProcessingRequest(buf: Buffer): ProcessingRequest {
  const reader = new Reader(buf, 0, buf.length);
  const message: ProcessingRequest = {};
  let part = 0;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new MalformedMessage('field number 0');
    if (field >= 2 && field <= 7 && wireType === WireType.LengthDelimited) {
      const sub = reader.sub();
      const name = REQUEST_PARTS[field]!;
      if (field <= 3) message[name as 'request_headers'] = httpHeaders(sub);
      else if (field <= 5) message[name as 'request_body'] = httpBody(sub);
      else message[name as 'request_trailers'] = httpTrailers(sub);
      if (field > part) part = field;
    } else if (field === 8 && wireType === WireType.LengthDelimited) {
      message.metadata_context = metadata(reader.sub());
    } else if (field === 9 && wireType === WireType.LengthDelimited) {
      const [key, value] = structMapEntry(reader.sub());
      (message.attributes ??= {})[key] = value;
    } else if (field === 10 && wireType === WireType.Varint) {
      message.observability_mode = reader.bool();
    } else if (field === 11 && wireType === WireType.LengthDelimited) {
      message.protocol_config = protocolConfiguration(reader.sub());
    } else {
      reader.skip(wireType);
    }
  }
  if (part !== 0) message.request = REQUEST_PARTS[part];
  return message;
}

function httpHeaders(reader: Reader): HttpHeaders {
  const out: HttpHeaders = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) out.headers = headerMap(reader.sub());
    else if (tag === ((3 << 3) | WireType.Varint)) out.end_of_stream = reader.bool();
    else skipField(reader, tag);
  }
  return out;
}

function httpBody(reader: Reader): HttpBody {
  const out: HttpBody = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) out.body = reader.bytes();
    else if (tag === ((2 << 3) | WireType.Varint)) out.end_of_stream = reader.bool();
    else skipField(reader, tag);
  }
  return out;
}

function httpTrailers(reader: Reader): HttpTrailers {
  const out: HttpTrailers = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) out.trailers = headerMap(reader.sub());
    else skipField(reader, tag);
  }
  return out;
}

function headerMap(reader: Reader): HeaderMap {
  const out: HeaderMap = {};
  let headers: HeaderValue[] | undefined;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) (headers ??= []).push(headerValue(reader.sub()));
    else skipField(reader, tag);
  }
  if (headers !== undefined) out.headers = headers;
  return out;
}

function headerValue(reader: Reader): HeaderValue {
  const out: HeaderValue = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) out.key = reader.string();
    else if (tag === ((2 << 3) | WireType.LengthDelimited)) out.value = reader.string();
    else if (tag === ((3 << 3) | WireType.LengthDelimited)) out.raw_value = reader.bytes();
    else skipField(reader, tag);
  }
  return out;
}

function protocolConfiguration(reader: Reader): ProtocolConfiguration {
  const out: ProtocolConfiguration = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.Varint)) out.request_body_mode = reader.int32();
    else if (tag === ((2 << 3) | WireType.Varint)) out.response_body_mode = reader.int32();
    else if (tag === ((3 << 3) | WireType.Varint)) out.send_body_without_waiting_for_header_response = reader.bool();
    else skipField(reader, tag);
  }
  return out;
}

/** config.core.v3.Metadata: filter_metadata (1) map<string, Struct>. */
function metadata(reader: Reader): ProtoMetadata {
  const out: ProtoMetadata = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) {
      const [key, value] = structMapEntry(reader.sub());
      (out.filter_metadata ??= {})[key] = value;
    } else if (tag === ((2 << 3) | WireType.LengthDelimited)) {
      const [key, value] = anyMapEntry(reader.sub());
      (out.typed_filter_metadata ??= {})[key] = value;
    } else skipField(reader, tag);
  }
  return out;
}

/** A map<string, Any> entry: key (1), value (2). */
function anyMapEntry(reader: Reader): [string, ProtoAny] {
  let key = '';
  let value: ProtoAny = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) key = reader.string();
    else if (tag === ((2 << 3) | WireType.LengthDelimited)) value = any(reader.sub());
    else skipField(reader, tag);
  }
  return [key, value];
}

/** google.protobuf.Any: type_url (1), value (2); the value is left encoded, its type decides who reads it. */
function any(reader: Reader): ProtoAny {
  const out: ProtoAny = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) out.type_url = reader.string();
    else if (tag === ((2 << 3) | WireType.LengthDelimited)) out.value = reader.bytes();
    else skipField(reader, tag);
  }
  return out;
}

/** A map<string, Struct> entry: key (1), value (2); absent parts take their defaults, as protobufjs does. */
function structMapEntry(reader: Reader): [string, ProtoStruct] {
  let key = '';
  let value: ProtoStruct | undefined;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) key = reader.string();
    else if (tag === ((2 << 3) | WireType.LengthDelimited)) value = struct(reader.sub());
    else skipField(reader, tag);
  }
  return [key, value ?? {}];
}

/** google.protobuf.Struct: fields (1) map<string, Value>. */
function struct(reader: Reader): ProtoStruct {
  const out: ProtoStruct = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) {
      const entry = reader.sub();
      let key = '';
      let value: ProtoValue | undefined;
      while (entry.pos < entry.end) {
        const entryTag = entry.varint();
        if (entryTag === ((1 << 3) | WireType.LengthDelimited)) key = entry.string();
        else if (entryTag === ((2 << 3) | WireType.LengthDelimited)) value = protoValue(entry.sub());
        else skipField(entry, entryTag);
      }
      (out.fields ??= {})[key] = value ?? {};
    } else skipField(reader, tag);
  }
  return out;
}

/** google.protobuf.Value, with `kind` naming the member set. */
function protoValue(reader: Reader): ProtoValue {
  const out: ProtoValue = {};
  let kind = 0;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === WireType.Varint) out.nullValue = reader.int32();
    else if (field === 2 && wireType === WireType.Fixed64) out.numberValue = reader.double();
    else if (field === 3 && wireType === WireType.LengthDelimited) out.stringValue = reader.string();
    else if (field === 4 && wireType === WireType.Varint) out.boolValue = reader.bool();
    else if (field === 5 && wireType === WireType.LengthDelimited) out.structValue = struct(reader.sub());
    else if (field === 6 && wireType === WireType.LengthDelimited) out.listValue = listValue(reader.sub());
    else {
      skipField(reader, tag);
      continue;
    }
    if (field > kind) kind = field;
  }
  if (kind !== 0) out.kind = VALUE_KINDS[kind];
  return out;
}

/** google.protobuf.ListValue: values (1) repeated Value. */
function listValue(reader: Reader): { values?: ProtoValue[] } {
  const out: { values?: ProtoValue[] } = {};
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) (out.values ??= []).push(protoValue(reader.sub()));
    else skipField(reader, tag);
  }
  return out;
}

export function skipField(reader: Reader, tag: number): void {
  if (tag >>> 3 === 0) throw new MalformedMessage('field number 0');
  reader.skip(tag & 7);
}

/**
 * Upper bounds for the encoded size of OTLP log records, so a RowBatch can be
 * split into export requests that stay under a byte cap. The exporter has no
 * request-size limit of its own (the spec says a client SHOULD cap and MUST
 * NOT send an over-limit request), and serializing twice just to measure
 * would double the CPU of the export path, so sizes are computed from the
 * wire formats: exact for protobuf field framing, JSON.stringify lengths for
 * JSON strings. Estimates never come out smaller than the real encoding
 * (the tests check this against the bytes that reach a receiver).
 */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

export type OtlpEncoding = 'protobuf' | 'json';

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size += 1;
  }
  return size;
}

/** A length-delimited protobuf field: one tag byte (field numbers < 16) + length varint + payload. */
function ld(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

function jsonStringBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}

/** Size of an AnyValue message's content (protobuf) or its JSON object text. */
export function anyValueBytes(value: unknown, encoding: OtlpEncoding): number {
  if (encoding === 'protobuf') {
    if (typeof value === 'string') return ld(Buffer.byteLength(value));
    if (typeof value === 'boolean') return 2;
    // int64 varint (10 bytes worst case) or a fixed64 double, plus the tag.
    if (typeof value === 'number') return 11;
    if (value instanceof Uint8Array) return ld(value.byteLength);
    if (Array.isArray(value)) {
      let inner = 0;
      for (const item of value) inner += ld(anyValueBytes(item, encoding));
      return ld(inner);
    }
    if (value !== null && typeof value === 'object') {
      let inner = 0;
      for (const [key, item] of Object.entries(value)) inner += ld(keyValueBytes(key, item, encoding));
      return ld(inner);
    }
    return 0;
  }
  // JSON: {"stringValue":"..."}, {"intValue":N}, {"doubleValue":N}, {"boolValue":false}, {"bytesValue":"b64"}, ...
  if (typeof value === 'string') return 16 + jsonStringBytes(value);
  if (typeof value === 'boolean') return 19;
  if (typeof value === 'number') return 16 + String(value).length + 8;
  if (value instanceof Uint8Array) return 17 + 4 * Math.ceil(value.byteLength / 3);
  if (Array.isArray(value)) {
    let inner = 0;
    for (const item of value) inner += anyValueBytes(item, encoding) + 1;
    return 28 + inner;
  }
  if (value !== null && typeof value === 'object') {
    let inner = 0;
    for (const [key, item] of Object.entries(value)) inner += keyValueBytes(key, item, encoding) + 1;
    return 29 + inner;
  }
  return 2;
}

/** A KeyValue message's content (protobuf) or its JSON object text. */
export function keyValueBytes(key: string, value: unknown, encoding: OtlpEncoding): number {
  if (encoding === 'protobuf') return ld(Buffer.byteLength(key)) + ld(anyValueBytes(value, encoding));
  return 18 + jsonStringBytes(key) + anyValueBytes(value, encoding);
}

/** One attribute as it sits in a repeated attributes field (framing and separator included). */
export function attributeBytes(key: string, value: unknown, encoding: OtlpEncoding): number {
  return encoding === 'protobuf' ? ld(keyValueBytes(key, value, encoding)) : keyValueBytes(key, value, encoding) + 1;
}

export function attributesBytes(attributes: Record<string, unknown>, encoding: OtlpEncoding): number {
  let total = 0;
  for (const [key, value] of Object.entries(attributes)) total += attributeBytes(key, value, encoding);
  return total;
}

/** One log record inside a ScopeLogs, framing included. */
export function recordBytes(record: ReadableLogRecord, encoding: OtlpEncoding): number {
  const attributes = attributesBytes(record.attributes, encoding);
  const eventName = record.eventName ?? '';
  const severityText = record.severityText ?? '';
  if (encoding === 'protobuf') {
    // time(9) + observed(9) + severity(11) + dropped(6) + flags(5) + trace_id(18) + span_id(10)
    let inner = 68 + ld(Buffer.byteLength(severityText)) + ld(Buffer.byteLength(eventName)) + attributes;
    if (record.body !== undefined) inner += ld(anyValueBytes(record.body, encoding));
    return ld(inner);
  }
  // Field names, two 19-digit timestamps as strings, hex ids, numbers, brackets and commas.
  let size = 330 + jsonStringBytes(severityText) + jsonStringBytes(eventName) + attributes;
  if (record.body !== undefined) size += anyValueBytes(record.body, encoding);
  return size + 1;
}

/** The request around the records: ExportLogsServiceRequest → ResourceLogs → resource + ScopeLogs → scope. */
export function envelopeBytes(resource: ReadableLogRecord['resource'], scope: ReadableLogRecord['instrumentationScope'], encoding: OtlpEncoding): number {
  const resourceAttributes = attributesBytes(resource.attributes, encoding);
  const scopeText = (scope.name ?? '') + (scope.version ?? '') + (scope.schemaUrl ?? '') + (resource.schemaUrl ?? '');
  const scopeAttributes = scope.attributes !== undefined ? attributesBytes(scope.attributes, encoding) : 0;
  if (encoding === 'protobuf') {
    // Three nested length prefixes of up to 5 bytes each, plus the resource and scope messages.
    return 3 * 6 + ld(resourceAttributes + 6) + ld(Buffer.byteLength(scopeText) + scopeAttributes + 20) + 16;
  }
  return 260 + resourceAttributes + scopeAttributes + 2 * Buffer.byteLength(JSON.stringify(scopeText));
}

/**
 * The longest prefix of a body value whose attribute encoding fits in
 * `limit` bytes. Strings are cut on a character boundary (never inside a
 * surrogate pair, so the UTF-8 stays valid); byte arrays on any byte.
 */
export function cutValueToBytes(key: string, value: string | Uint8Array, limit: number, encoding: OtlpEncoding): string | Uint8Array {
  const fits = (candidate: string | Uint8Array): boolean => attributeBytes(key, candidate, encoding) <= limit;
  if (fits(value)) return value;
  const length = typeof value === 'string' ? value.length : value.byteLength;
  const prefix = (n: number): string | Uint8Array => {
    if (typeof value !== 'string') return value.subarray(0, n);
    // Do not end on a lone high surrogate.
    const code = n > 0 ? value.charCodeAt(n - 1) : 0;
    return value.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
  };
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(prefix(mid))) lo = mid;
    else hi = mid - 1;
  }
  return prefix(lo);
}

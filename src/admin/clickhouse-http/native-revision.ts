/**
 * `Native` output at a client's `client_protocol_version`.
 *
 * Over HTTP ClickHouse writes Native blocks at the revision the client names
 * in `client_protocol_version`, and clients decode at that revision:
 * clickhouse-go v2 (Grafana's driver) always sends it, clickhouse-connect
 * probes for it. The engine here writes revision 0 (no TCP client), so its
 * blocks are re-framed to the asked revision. What differs per revision in a
 * block (ClickHouse's NativeWriter, Core/ProtocolDefines.h):
 *
 *   revision > 0       each block starts with its BlockInfo: field 1
 *                      is_overflows (UInt8 0), field 2 bucket_num (Int32 -1),
 *                      field number 0 to end it;
 *   revision >= 54454  (DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION) a
 *                      "has custom serialization" byte after each column's
 *                      type — 0 here: the engine's revision-0 output never
 *                      uses sparse or other custom serializations.
 *
 * Column data is identical at every revision for the types walked below;
 * the walk only finds where one column ends and the next column's header
 * starts. Types whose data cannot be walked without decoding it (Dynamic,
 * Variant, JSON, AggregateFunction states) are refused with a message that
 * names the column and what to use instead. Below 54405 ClickHouse would
 * also turn LowCardinality into plain columns; such old revisions are
 * refused as well (no client in use sends one).
 */
import { CH, ClickHouseHttpError } from './clickhouse-errors';
import { describeError } from '../../errors';

export const REVISION_WITH_LOW_CARDINALITY = 54405;
export const REVISION_WITH_CUSTOM_SERIALIZATION = 54454;

const BLOCK_INFO = Buffer.from([0x01, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00]);
const NO_CUSTOM_SERIALIZATION = Buffer.from([0x00]);

/** Bytes per value of the fixed-width types. */
const FIXED_WIDTH: Record<string, number> = {
  UInt8: 1,
  Int8: 1,
  Bool: 1,
  Enum8: 1,
  UInt16: 2,
  Int16: 2,
  Date: 2,
  Enum16: 2,
  BFloat16: 2,
  UInt32: 4,
  Int32: 4,
  Float32: 4,
  Date32: 4,
  DateTime: 4,
  IPv4: 4,
  Decimal32: 4,
  Time: 4,
  UInt64: 8,
  Int64: 8,
  Float64: 8,
  DateTime64: 8,
  Decimal64: 8,
  Time64: 8,
  UInt128: 16,
  Int128: 16,
  UUID: 16,
  IPv6: 16,
  Decimal128: 16,
  UInt256: 32,
  Int256: 32,
  Decimal256: 32,
  // Nothing writes one placeholder byte per row
  Nothing: 1,
};

/** Geo types are aliases of compositions of Float64. */
const ALIASES: Record<string, string> = {
  Point: 'Tuple(Float64, Float64)',
  Ring: 'Array(Tuple(Float64, Float64))',
  LineString: 'Array(Tuple(Float64, Float64))',
  Polygon: 'Array(Array(Tuple(Float64, Float64)))',
  MultiLineString: 'Array(Array(Tuple(Float64, Float64)))',
  MultiPolygon: 'Array(Array(Array(Tuple(Float64, Float64))))',
};

interface TypeNode {
  name: string;
  args: string[];
}

/** Splits `Name(arg, arg…)` into its name and arguments. */
function parseType(type: string): TypeNode {
  const text = ALIASES[type.trim()] ?? type.trim();
  const open = text.indexOf('(');
  if (open === -1 || !text.endsWith(')')) return { name: text, args: [] };
  return { name: text.slice(0, open), args: splitTopLevel(text.slice(open + 1, -1)) };
}

/** Splits a list of types at its top-level commas (quotes and nested brackets respected), each trimmed. */
export function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote !== undefined) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts;
}

/** A Tuple element may be named (`a String`); the type is what follows the name. */
function tupleElementType(arg: string): string {
  const named = /^(`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(.+)$/s.exec(arg);
  // `DateTime64(3, 'UTC')` does not match: its name is followed by '(', not by a space.
  return named === null ? arg : named[2]!;
}

class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new RangeError('Native data ends inside a column');
  }
  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }
  varUInt(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
      if (shift > 63) throw new RangeError('malformed VarUInt in Native data');
    }
  }
  string(): string {
    const length = this.varUInt();
    this.need(length);
    const text = this.bytes.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }
  uint64(): number {
    this.need(8);
    const value = this.bytes.readBigUInt64LE(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('Native size out of range');
    return Number(value);
  }
}

class Unsupported extends Error {}

/** Skips the bulk-serialization state prefix of `type` (written once per column, before its data). */
function skipPrefix(reader: Reader, type: TypeNode): void {
  switch (type.name) {
    case 'LowCardinality':
      reader.skip(8); // key serialization version
      return;
    case 'Nullable':
    case 'Array':
      skipPrefix(reader, parseType(type.args[0]!));
      return;
    case 'Map':
      skipPrefix(reader, parseType(type.args[0]!));
      skipPrefix(reader, parseType(type.args[1]!));
      return;
    case 'Tuple':
      for (const arg of type.args) skipPrefix(reader, parseType(tupleElementType(arg)));
      return;
    case 'SimpleAggregateFunction':
      skipPrefix(reader, parseType(type.args[type.args.length - 1]!));
      return;
  }
}

const LOW_CARDINALITY_INDEX_BYTES = [1, 2, 4, 8];
const LOW_CARDINALITY_GLOBAL_DICTIONARY = 1 << 8;

/** Skips `rows` values of `type`. */
function skipData(reader: Reader, type: TypeNode, rows: number): void {
  if (rows === 0) return;
  const fixed = FIXED_WIDTH[type.name];
  if (fixed !== undefined) return reader.skip(fixed * rows);
  switch (type.name) {
    case 'String':
    case 'JSONString':
      for (let i = 0; i < rows; i++) reader.skip(reader.varUInt());
      return;
    case 'FixedString':
      return reader.skip(Number(type.args[0]) * rows);
    case 'Decimal': {
      const precision = Number(type.args[0]);
      return reader.skip((precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32) * rows);
    }
    case 'Nullable':
      reader.skip(rows);
      return skipData(reader, parseType(type.args[0]!), rows);
    case 'Array':
    case 'Map': {
      reader.need(8 * rows);
      const last = reader.bytes.readBigUInt64LE(reader.offset + 8 * (rows - 1));
      reader.skip(8 * rows);
      const nested = type.name === 'Array' ? parseType(type.args[0]!) : { name: 'Tuple', args: type.args };
      return skipData(reader, nested, Number(last));
    }
    case 'Tuple':
      for (const arg of type.args) skipData(reader, parseType(tupleElementType(arg)), rows);
      return;
    case 'LowCardinality': {
      const flags = reader.uint64();
      if ((flags & LOW_CARDINALITY_GLOBAL_DICTIONARY) !== 0) throw new Unsupported('a LowCardinality global dictionary');
      const keys = reader.uint64();
      // The dictionary holds the inner type without Nullable (null is key 0).
      const inner = parseType(type.args[0]!);
      skipData(reader, inner.name === 'Nullable' ? parseType(inner.args[0]!) : inner, keys);
      const indexes = reader.uint64();
      reader.skip(LOW_CARDINALITY_INDEX_BYTES[flags & 0xff]! * indexes);
      return;
    }
    case 'SimpleAggregateFunction':
      return skipData(reader, parseType(type.args[type.args.length - 1]!), rows);
    case 'Interval':
    case 'IntervalNanosecond':
    case 'IntervalMicrosecond':
    case 'IntervalMillisecond':
    case 'IntervalSecond':
    case 'IntervalMinute':
    case 'IntervalHour':
    case 'IntervalDay':
    case 'IntervalWeek':
    case 'IntervalMonth':
    case 'IntervalQuarter':
    case 'IntervalYear':
      return reader.skip(8 * rows);
  }
  throw new Unsupported(type.name);
}

/**
 * Re-frames the engine's revision-0 Native `bytes` as ClickHouse writes them
 * at `revision`. Revision 0 returns them as they are.
 */
export function nativeAtRevision(bytes: Uint8Array, revision: number): Uint8Array {
  if (revision === 0 || bytes.byteLength === 0) return bytes;
  if (revision < REVISION_WITH_LOW_CARDINALITY) {
    throw ClickHouseHttpError.of(
      CH.NOT_IMPLEMENTED,
      `Native output at client_protocol_version ${revision} (below ${REVISION_WITH_LOW_CARDINALITY}, without LowCardinality) is not supported by the admin interface; send ${REVISION_WITH_LOW_CARDINALITY} or later, or 0`,
    );
  }
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const parts: Buffer[] = [];
  let copied = 0;
  const insert = (extra: Buffer): void => {
    parts.push(reader.bytes.subarray(copied, reader.offset), extra);
    copied = reader.offset;
  };
  const custom = revision >= REVISION_WITH_CUSTOM_SERIALIZATION;
  let column = '';
  let type = '';
  try {
    while (reader.offset < reader.bytes.length) {
      insert(BLOCK_INFO);
      const columns = reader.varUInt();
      const rows = reader.varUInt();
      for (let i = 0; i < columns; i++) {
        column = reader.string();
        type = reader.string();
        if (custom) insert(NO_CUSTOM_SERIALIZATION);
        if (rows === 0) continue;
        const node = parseType(type);
        skipPrefix(reader, node);
        skipData(reader, node, rows);
      }
    }
  } catch (err) {
    if (err instanceof Unsupported) {
      throw ClickHouseHttpError.of(
        CH.NOT_IMPLEMENTED,
        `Native output with client_protocol_version is not supported by the admin interface for column ${column} of type ${type} (${err.message}); cast it (toString(…)) or use RowBinary or a text format`,
      );
    }
    throw ClickHouseHttpError.of(CH.UNKNOWN_EXCEPTION, `Cannot re-frame Native output for client_protocol_version ${revision} at column ${column} of type ${type}: ${describeError(err)}`);
  }
  parts.push(reader.bytes.subarray(copied));
  return Buffer.concat(parts);
}

/** Rows in revision-0 Native data (what clients send in an INSERT … FORMAT Native body). */
export function countNativeRows(bytes: Uint8Array): number {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  let total = 0;
  while (reader.offset < reader.bytes.length) {
    const columns = reader.varUInt();
    const rows = reader.varUInt();
    total += rows;
    for (let i = 0; i < columns; i++) {
      reader.string();
      const node = parseType(reader.string());
      if (rows === 0) continue;
      skipPrefix(reader, node);
      skipData(reader, node, rows);
    }
  }
  return total;
}

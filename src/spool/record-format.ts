/**
 * On-disk format of a spool segment.
 *
 *   segment  = header record*
 *   header   = "EGCSPOOL" (8 bytes) | version u32 LE | flags u32 LE      (16 bytes)
 *   record   = length u32 LE | crc32(payload) u32 LE | payload (length bytes)
 *
 * The payload is one exchange's JSONEachRow line exactly as the pipeline
 * produced it (a JSON object followed by "\n"). The checksum lets replay tell
 * a record that reached the disk whole from a torn one (the process died in
 * the middle of write(), or the machine lost unsynced pages); the length
 * prefix lets a reader jump record to record without parsing JSON.
 *
 * flags bit 0 (FLAG_BODIES_STRIPPED): the segment was rewritten by the disk
 * budget with its bodies emptied, so it is never stripped twice.
 */
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('EGCSPOOL', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
export const FLAG_BODIES_STRIPPED = 1;
/** Sanity bound on one record: larger lengths are read as corruption, not as a record. */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024;
/** Every payload is a JSON object: used to reject false resynchronisation points cheaply. */
const PAYLOAD_FIRST_BYTE = 0x7b; // '{'

export function encodeSegmentHeader(flags: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_VERSION, 8);
  header.writeUInt32LE(flags, 12);
  return header;
}

/** Returns the flags, or undefined when `buffer` does not start with a valid header. */
export function decodeSegmentHeader(buffer: Buffer): number | undefined {
  if (buffer.length < SEGMENT_HEADER_BYTES) return undefined;
  if (!buffer.subarray(0, 8).equals(SEGMENT_MAGIC)) return undefined;
  if (buffer.readUInt32LE(8) !== SEGMENT_VERSION) return undefined;
  return buffer.readUInt32LE(12);
}

export function encodeRecord(payload: Buffer): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  payload.copy(record, RECORD_HEADER_BYTES);
  writeRecordHeader(record, 0, payload.length);
  return record;
}

/** Fills in the header of the record at `offset`, whose `length` payload bytes are already in place. */
function writeRecordHeader(buffer: Buffer, offset: number, length: number): void {
  const start = offset + RECORD_HEADER_BYTES;
  buffer.writeUInt32LE(length, offset);
  buffer.writeUInt32LE(crc32(buffer.subarray(start, start + length)), offset + 4);
}

/**
 * Encodes rows (JSON texts, without the newline) as consecutive records in
 * one buffer of their own (not Buffer's shared pool), so a worker can transfer
 * it to the event loop, which then writes the group with one write(2).
 * Returns the records as views of that buffer.
 */
export function encodeRecordBlock(rows: readonly string[]): Buffer[] {
  let total = 0;
  const lengths = rows.map((row) => {
    // The payload is the row and its newline.
    const length = Buffer.byteLength(row, 'utf8') + 1;
    total += RECORD_HEADER_BYTES + length;
    return length;
  });
  // Unpooled and not zero-filled: every byte is written below.
  const block = Buffer.allocUnsafeSlow(total);
  const records: Buffer[] = [];
  let offset = 0;
  rows.forEach((row, i) => {
    const length = lengths[i]!;
    const start = offset + RECORD_HEADER_BYTES;
    // Equal lengths mean every character is ASCII, whose UTF-8 is its latin1 byte: a plain copy.
    block.write(row, start, length - 1, length - 1 === row.length ? 'latin1' : 'utf8');
    block[start + length - 1] = 0x0a;
    writeRecordHeader(block, offset, length);
    records.push(block.subarray(offset, start + length));
    offset = start + length;
  });
  return records;
}

/** True when a whole, checksum-valid record starts at `offset`. */
export function validRecordAt(buffer: Buffer, offset: number): boolean {
  if (offset + RECORD_HEADER_BYTES > buffer.length) return false;
  const length = buffer.readUInt32LE(offset);
  if (length === 0 || length > MAX_RECORD_BYTES) return false;
  const start = offset + RECORD_HEADER_BYTES;
  if (start + length > buffer.length) return false;
  if (buffer[start] !== PAYLOAD_FIRST_BYTE) return false;
  return crc32(buffer.subarray(start, start + length)) === buffer.readUInt32LE(offset + 4);
}

export interface SegmentScan {
  flags: number;
  /** Start offset (of the record header) and payload length of every valid record, in order. */
  offsets: number[];
  lengths: number[];
  /** Byte length the file should have: everything after it is a torn tail. */
  validLength: number;
  /** Records cut off at the end (0 or 1: what follows the last valid record cannot be counted). */
  tornTail: number;
  /** Damaged regions in the middle that were skipped to the next valid record. */
  corruptRegions: number;
}

/**
 * Indexes a whole segment. A damaged record in the middle is skipped by
 * searching forward for the next checksum-valid record (so one flipped bit
 * costs one record, not the rest of the segment); damage with nothing valid
 * after it is a torn tail, cut off at `validLength`.
 */
export function scanSegment(buffer: Buffer): SegmentScan | undefined {
  const flags = decodeSegmentHeader(buffer);
  if (flags === undefined) return undefined;
  const scan: SegmentScan = { flags, offsets: [], lengths: [], validLength: SEGMENT_HEADER_BYTES, tornTail: 0, corruptRegions: 0 };
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < buffer.length) {
    if (validRecordAt(buffer, offset)) {
      const length = buffer.readUInt32LE(offset);
      scan.offsets.push(offset);
      scan.lengths.push(length);
      offset += RECORD_HEADER_BYTES + length;
      scan.validLength = offset;
      continue;
    }
    const next = findNextValidRecord(buffer, offset + 1);
    if (next === undefined) {
      scan.tornTail = 1;
      break;
    }
    scan.corruptRegions += 1;
    offset = next;
  }
  return scan;
}

function findNextValidRecord(buffer: Buffer, from: number): number | undefined {
  // A candidate needs '{' where its payload would start: indexOf finds those fast.
  let cursor = from + RECORD_HEADER_BYTES;
  while (cursor < buffer.length) {
    const brace = buffer.indexOf(PAYLOAD_FIRST_BYTE, cursor);
    if (brace === -1) return undefined;
    const candidate = brace - RECORD_HEADER_BYTES;
    if (validRecordAt(buffer, candidate)) return candidate;
    cursor = brace + 1;
  }
  return undefined;
}

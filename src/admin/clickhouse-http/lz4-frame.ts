/**
 * `Content-Encoding: lz4` as ClickHouse's HTTP interface speaks it: the LZ4
 * frame format (lz4.github.io/lz4, lz4_Frame_format.md), which
 * clickhouse-connect sends and asks for by default. The blocks inside are
 * lz4-block.ts's; the frame needs xxHash32 only for the header's check byte
 * and the optional checksums.
 */
import { Lz4DataError, Lz4SizeError, lz4DecodeBlock, lz4EncodeBlock, lz4EncodeBound } from './lz4-block';

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = 4 * 1024 * 1024;

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** xxHash32 with seed 0. */
export function xxh32(data: Uint8Array): number {
  const len = data.length;
  let i = 0;
  let h: number;
  const u32 = (at: number): number => (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
  if (len >= 16) {
    let v1 = (P1 + P2) >>> 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = (0 - P1) >>> 0;
    const round = (v: number, input: number): number => Math.imul(rotl((v + Math.imul(input, P2)) >>> 0, 13), P1) >>> 0;
    for (; i + 16 <= len; i += 16) {
      v1 = round(v1, u32(i));
      v2 = round(v2, u32(i + 4));
      v3 = round(v3, u32(i + 8));
      v4 = round(v4, u32(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = P5;
  }
  h = (h + len) >>> 0;
  for (; i + 4 <= len; i += 4) h = Math.imul(rotl((h + Math.imul(u32(i), P3)) >>> 0, 17), P4) >>> 0;
  for (; i < len; i++) h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) >>> 0, 11), P1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Inflates LZ4 frames (concatenated, skippable frames skipped); more than `maxOutput` bytes throws Lz4SizeError. */
export function lz4FrameDecompress(input: Uint8Array, maxOutput: number): Buffer {
  let out = Buffer.alloc(Math.min(maxOutput, Math.max(1024, input.length * 4)));
  let pos = 0;
  let i = 0;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const need = (n: number): void => {
    if (i + n > input.length) throw new Lz4DataError('the frame ends early');
  };
  const grow = (size: number): void => {
    if (size > maxOutput) throw new Lz4SizeError();
    if (size <= out.length) return;
    const bigger = Buffer.alloc(Math.min(maxOutput, Math.max(size, out.length * 2)));
    bigger.set(out.subarray(0, pos));
    out = bigger;
  };
  while (i < input.length) {
    need(4);
    const magic = view.getUint32(i, true);
    i += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4);
      i += 4 + view.getUint32(i, true);
      continue;
    }
    if (magic !== MAGIC) throw new Lz4DataError('not an LZ4 frame (bad magic number)');
    need(2);
    const descriptorStart = i;
    const flg = input[i++]!;
    const bd = input[i++]!;
    if (flg >>> 6 !== 1) throw new Lz4DataError('unsupported LZ4 frame version');
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    if (dictId) throw new Lz4DataError('LZ4 frames with a dictionary are not supported');
    const blockMax = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(bd >>> 4) & 7]!;
    if (blockMax === 0) throw new Lz4DataError('bad LZ4 block size');
    if (contentSize) {
      need(8);
      i += 8;
    }
    need(1);
    if (((xxh32(input.subarray(descriptorStart, i)) >>> 8) & 0xff) !== input[i]) throw new Lz4DataError('LZ4 frame header checksum mismatch');
    i++;
    const frameStart = pos;
    for (;;) {
      need(4);
      const word = view.getUint32(i, true);
      i += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw new Lz4DataError('LZ4 block larger than the frame allows');
      need(size + (blockChecksum ? 4 : 0));
      const block = input.subarray(i, i + size);
      i += size + (blockChecksum ? 4 : 0);
      if ((word & 0x80000000) !== 0) {
        grow(pos + size);
        out.set(block, pos);
        pos += size;
      } else {
        grow(pos + blockMax);
        // Linked blocks may refer back into earlier blocks of the same frame.
        pos = lz4DecodeBlock(block, out, pos, frameStart);
      }
    }
    if (contentChecksum) {
      need(4);
      if (xxh32(out.subarray(frameStart, pos)) !== view.getUint32(i, true)) throw new Lz4DataError('LZ4 content checksum mismatch');
      i += 4;
    }
  }
  return out.subarray(0, pos);
}

/** One LZ4 frame: independent 4 MiB blocks, each stored raw when compression would not shrink it. */
export function lz4FrameCompress(input: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0]);
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
  parts.push(header);
  for (let start = 0; start < input.length; start += BLOCK_MAX) {
    const block = input.subarray(start, Math.min(input.length, start + BLOCK_MAX));
    const scratch = Buffer.alloc(4 + lz4EncodeBound(block.length));
    const end = lz4EncodeBlock(block, scratch, 4);
    if (end - 4 < block.length) {
      scratch.writeUInt32LE(end - 4, 0);
      parts.push(scratch.subarray(0, end));
    } else {
      const raw = Buffer.alloc(4);
      raw.writeUInt32LE((block.length | 0x80000000) >>> 0, 0);
      parts.push(raw, Buffer.from(block));
    }
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

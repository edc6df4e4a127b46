/**
 * `Content-Encoding: lz4` as ClickHouse's HTTP interface speaks it: the LZ4
 * frame format (lz4.github.io/lz4, lz4_Frame_format.md), which
 * clickhouse-connect sends and asks for by default.
 *
 * Written here rather than taken from a native addon because the decoder has
 * to stop at a size cap while it inflates (the admin interface bounds every
 * request body after decompression, and LZ4 expands up to 255-fold), and
 * both directions are small: greedy single-pass compression with a hash table
 * is what LZ4's fast mode does, and the format needs xxHash32 only for the
 * frame header's check byte and the optional checksums.
 */

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = 4 * 1024 * 1024;
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals, and a match may not start in the last 12. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

export class Lz4FrameError extends Error {}
export class Lz4SizeError extends Error {}

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

/** Decodes one LZ4 block into `out` at `pos`; returns the new end. `start` is where back references may reach. */
function decodeBlock(src: Uint8Array, out: Uint8Array, pos: number, start: number): number {
  let i = 0;
  /** A length's continuation bytes: each adds its value, 255 means another follows. */
  const extension = (what: string): number => {
    let sum = 0;
    let b: number;
    do {
      if (i >= src.length) throw new Lz4FrameError(`truncated ${what}`);
      b = src[i++]!;
      sum += b;
    } while (b === 255);
    return sum;
  };
  while (i < src.length) {
    const token = src[i++]!;
    let literals = token >>> 4;
    if (literals === 15) literals += extension('literal length');
    if (i + literals > src.length) throw new Lz4FrameError('literals run past the block');
    if (pos + literals > out.length) throw new Lz4SizeError();
    out.set(src.subarray(i, i + literals), pos);
    i += literals;
    pos += literals;
    if (i >= src.length) break;
    if (i + 2 > src.length) throw new Lz4FrameError('truncated match offset');
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || pos - offset < start) throw new Lz4FrameError('match offset outside the data');
    let length = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) length += extension('match length');
    if (pos + length > out.length) throw new Lz4SizeError();
    // Overlapping copies repeat the bytes just written, byte by byte.
    for (let k = 0; k < length; k++) out[pos + k] = out[pos - offset + k]!;
    pos += length;
  }
  return pos;
}

/** Inflates LZ4 frames (concatenated, skippable frames skipped); more than `maxOutput` bytes throws Lz4SizeError. */
export function lz4FrameDecompress(input: Uint8Array, maxOutput: number): Buffer {
  let out = Buffer.alloc(Math.min(maxOutput, Math.max(1024, input.length * 4)));
  let pos = 0;
  let i = 0;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const need = (n: number): void => {
    if (i + n > input.length) throw new Lz4FrameError('the frame ends early');
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
    if (magic !== MAGIC) throw new Lz4FrameError('not an LZ4 frame (bad magic number)');
    need(2);
    const descriptorStart = i;
    const flg = input[i++]!;
    const bd = input[i++]!;
    if (flg >>> 6 !== 1) throw new Lz4FrameError('unsupported LZ4 frame version');
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    if (dictId) throw new Lz4FrameError('LZ4 frames with a dictionary are not supported');
    const blockMax = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(bd >>> 4) & 7]!;
    if (blockMax === 0) throw new Lz4FrameError('bad LZ4 block size');
    if (contentSize) {
      need(8);
      i += 8;
    }
    need(1);
    if (((xxh32(input.subarray(descriptorStart, i)) >>> 8) & 0xff) !== input[i]) throw new Lz4FrameError('LZ4 frame header checksum mismatch');
    i++;
    const frameStart = pos;
    for (;;) {
      need(4);
      const word = view.getUint32(i, true);
      i += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw new Lz4FrameError('LZ4 block larger than the frame allows');
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
        pos = decodeBlock(block, out, pos, frameStart);
      }
    }
    if (contentChecksum) {
      need(4);
      if (xxh32(out.subarray(frameStart, pos)) !== view.getUint32(i, true)) throw new Lz4FrameError('LZ4 content checksum mismatch');
      i += 4;
    }
  }
  return out.subarray(0, pos);
}

/** Greedy LZ4 compression of one block (independent). */
function encodeBlock(src: Uint8Array, out: Buffer, at: number): number {
  const table = new Int32Array(1 << 16).fill(-1);
  const hash = (p: number): number => Math.imul(src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24), 2654435761) >>> 16;
  let anchor = 0;
  let p = 0;
  let o = at;
  const writeLength = (n: number): void => {
    for (; n >= 255; n -= 255) out[o++] = 255;
    out[o++] = n;
  };
  const limit = src.length - MF_LIMIT;
  while (p < limit) {
    const h = hash(p);
    const candidate = table[h]!;
    table[h] = p;
    if (candidate < 0 || p - candidate > 0xffff || src[candidate] !== src[p] || src[candidate + 1] !== src[p + 1] || src[candidate + 2] !== src[p + 2] || src[candidate + 3] !== src[p + 3]) {
      p++;
      continue;
    }
    let length = MIN_MATCH;
    while (p + length < src.length - LAST_LITERALS && src[candidate + length] === src[p + length]) length++;
    const literals = p - anchor;
    const matchCode = length - MIN_MATCH;
    out[o++] = (Math.min(literals, 15) << 4) | Math.min(matchCode, 15);
    if (literals >= 15) writeLength(literals - 15);
    out.set(src.subarray(anchor, p), o);
    o += literals;
    out[o++] = (p - candidate) & 0xff;
    out[o++] = (p - candidate) >>> 8;
    if (matchCode >= 15) writeLength(matchCode - 15);
    p += length;
    anchor = p;
  }
  const literals = src.length - anchor;
  out[o++] = Math.min(literals, 15) << 4;
  if (literals >= 15) writeLength(literals - 15);
  out.set(src.subarray(anchor), o);
  return o + literals;
}

/** One LZ4 frame: independent 4 MiB blocks, each stored raw when compression would not shrink it. */
export function lz4FrameCompress(input: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0]);
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
  parts.push(header);
  for (let start = 0; start < input.length; start += BLOCK_MAX) {
    const block = input.subarray(start, Math.min(input.length, start + BLOCK_MAX));
    const scratch = Buffer.alloc(4 + block.length + Math.ceil(block.length / 255) + 16);
    const end = encodeBlock(block, scratch, 4);
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

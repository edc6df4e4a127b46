/**
 * The LZ4 block format (lz4.github.io/lz4, lz4_Block_format.md): the
 * sequences of literals and back references inside an LZ4 frame
 * (lz4-frame.ts, Content-Encoding: lz4) and inside ClickHouse's own
 * compressed blocks (native-blocks.ts, compress=1 / decompress=1).
 *
 * Written here rather than taken from a native addon because the decoder has
 * to stop at a size cap while it inflates (the admin interface bounds every
 * request body after decompression, and LZ4 expands up to 255-fold), and
 * both directions are small: greedy single-pass compression with a hash table
 * is what LZ4's fast mode does.
 */

const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals, and a match may not start in the last 12. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

/** The data is not valid LZ4. */
export class Lz4DataError extends Error {}
/** The data would inflate past the space given for it. */
export class Lz4SizeError extends Error {}

/** The most an encoded block of `n` bytes can take (incompressible data grows a little). */
export function lz4EncodeBound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

/** Decodes one LZ4 block into `out` at `pos`; returns the new end. `start` is where back references may reach. */
export function lz4DecodeBlock(src: Uint8Array, out: Uint8Array, pos: number, start: number): number {
  let i = 0;
  /** A length's continuation bytes: each adds its value, 255 means another follows. */
  const extension = (what: string): number => {
    let sum = 0;
    let b: number;
    do {
      if (i >= src.length) throw new Lz4DataError(`truncated ${what}`);
      b = src[i++]!;
      sum += b;
    } while (b === 255);
    return sum;
  };
  while (i < src.length) {
    const token = src[i++]!;
    let literals = token >>> 4;
    if (literals === 15) literals += extension('literal length');
    if (i + literals > src.length) throw new Lz4DataError('literals run past the block');
    if (pos + literals > out.length) throw new Lz4SizeError();
    out.set(src.subarray(i, i + literals), pos);
    i += literals;
    pos += literals;
    if (i >= src.length) break;
    if (i + 2 > src.length) throw new Lz4DataError('truncated match offset');
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || pos - offset < start) throw new Lz4DataError('match offset outside the data');
    let length = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) length += extension('match length');
    if (pos + length > out.length) throw new Lz4SizeError();
    // Overlapping copies repeat the bytes just written, byte by byte.
    for (let k = 0; k < length; k++) out[pos + k] = out[pos - offset + k]!;
    pos += length;
  }
  return pos;
}

/** Greedy LZ4 compression of one block (independent). */
export function lz4EncodeBlock(src: Uint8Array, out: Buffer, at: number): number {
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

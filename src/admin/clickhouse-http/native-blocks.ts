/**
 * ClickHouse's own compressed-block framing, which its HTTP interface
 * speaks for `compress=1` (the answer) and `decompress=1` (the request body,
 * after any Content-Encoding is undone) — clickhouse-go's `Compression` LZ4
 * and ZSTD over HTTP use it both ways. Each block is
 *
 *   16 bytes   CityHash128 v1.0.2 of everything after it (low 64 bits first, little-endian)
 *    1 byte    method: 0x02 none, 0x82 LZ4, 0x90 ZSTD
 *    4 bytes   compressed size, these 9 header bytes included (little-endian)
 *    4 bytes   uncompressed size (little-endian)
 *    …         the data: a raw LZ4 block, a ZSTD frame, or the bytes themselves
 *
 * Blocks split the byte stream anywhere (ClickHouse cuts at 1 MiB, not at
 * Native block boundaries), so the answer is compressed after it is whole.
 *
 * The checksum and LZ4 are JavaScript on the main thread, tens of
 * milliseconds per 1 MiB block: both directions give the event loop back
 * between blocks, so a large answer delays the capture path by one block's
 * work at a time, never by the whole answer's.
 */
import * as zlib from 'node:zlib';
import { cityHash128 } from './cityhash128';
import { BodyTooLarge } from './content-encoding';
import { Lz4SizeError, lz4DecodeBlock, lz4EncodeBlock, lz4EncodeBound } from './lz4-block';

export type NativeMethod = 'NONE' | 'LZ4' | 'ZSTD';

const METHOD_BYTE: Record<NativeMethod, number> = { NONE: 0x02, LZ4: 0x82, ZSTD: 0x90 };
const CHECKSUM = 16;
const HEADER = 9;
/** ClickHouse's CompressedWriteBuffer size (DBMS_DEFAULT_BUFFER_SIZE). */
const BLOCK = 1024 * 1024;
/** ClickHouse refuses a block that claims more than this (DBMS_MAX_COMPRESSED_SIZE). */
const MAX_BLOCK = 0x40000000;

/** The data is not in ClickHouse's compressed-block framing, or a checksum does not match. */
export class NativeBlockError extends Error {}

/**
 * The method for a request's `network_compression_method` (case-insensitive;
 * ClickHouse's default LZ4). LZ4HC is answered as LZ4 (the same decoder
 * reads both); other codecs are column codecs, not for the wire.
 */
export function nativeMethod(name: string | undefined): NativeMethod {
  const upper = (name ?? '').trim().toUpperCase();
  if (upper === '' || upper === 'LZ4' || upper === 'LZ4HC') return 'LZ4';
  if (upper === 'ZSTD' || upper === 'NONE') return upper;
  throw new NativeBlockError(`network_compression_method must be LZ4, ZSTD or NONE; got ${JSON.stringify(name)}`);
}

function frame(method: NativeMethod, data: Uint8Array, uncompressed: number): Buffer {
  const block = Buffer.allocUnsafe(CHECKSUM + HEADER + data.length);
  block[CHECKSUM] = METHOD_BYTE[method];
  block.writeUInt32LE(HEADER + data.length, CHECKSUM + 1);
  block.writeUInt32LE(uncompressed, CHECKSUM + 5);
  block.set(data, CHECKSUM + HEADER);
  const hash = cityHash128(block.subarray(CHECKSUM));
  block.writeBigUInt64LE(hash.low, 0);
  block.writeBigUInt64LE(hash.high, 8);
  return block;
}

/** Lets the event loop run other work between two blocks. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `data` as compressed blocks of at most 1 MiB each; `zstdLevel` is network_zstd_compression_level. */
export async function compressNativeBlocks(data: Uint8Array, method: NativeMethod, zstdLevel?: number): Promise<Buffer> {
  const blocks: Buffer[] = [];
  for (let start = 0; start < data.length; start += BLOCK) {
    if (start > 0) await nextTurn();
    const chunk = data.subarray(start, Math.min(data.length, start + BLOCK));
    if (method === 'LZ4') {
      const scratch = Buffer.allocUnsafe(lz4EncodeBound(chunk.length));
      blocks.push(frame('LZ4', scratch.subarray(0, lz4EncodeBlock(chunk, scratch, 0)), chunk.length));
    } else if (method === 'ZSTD') {
      const params = zstdLevel !== undefined ? { params: { [zlib.constants.ZSTD_c_compressionLevel]: zstdLevel } } : {};
      blocks.push(frame('ZSTD', zlib.zstdCompressSync(chunk, params), chunk.length));
    } else {
      blocks.push(frame('NONE', chunk, chunk.length));
    }
  }
  return Buffer.concat(blocks);
}

/**
 * The bytes inside a sequence of compressed blocks. More than `limit` of
 * them throws BodyTooLarge before the block that would pass it is inflated
 * (each block declares its size, and is held to it). `checksums` false is
 * http_native_compression_disable_checksumming_on_decompress=1.
 */
export async function decompressNativeBlocks(input: Uint8Array, limit: number, checksums = true): Promise<Buffer> {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  while (i < input.length) {
    if (i > 0) await nextTurn();
    if (i + CHECKSUM + HEADER > input.length) throw new NativeBlockError(`a compressed block's header is cut short at byte ${i}`);
    const method = input[i + CHECKSUM]!;
    const compressedSize = view.getUint32(i + CHECKSUM + 1, true);
    const size = view.getUint32(i + CHECKSUM + 5, true);
    if (compressedSize < HEADER || compressedSize > MAX_BLOCK || size > MAX_BLOCK)
      throw new NativeBlockError(`a compressed block at byte ${i} declares impossible sizes (${compressedSize} compressed, ${size} uncompressed)`);
    const end = i + CHECKSUM + compressedSize;
    if (end > input.length) throw new NativeBlockError(`the compressed block at byte ${i} is cut short: ${compressedSize} bytes declared, ${input.length - i - CHECKSUM} sent`);
    if (checksums) {
      const hash = cityHash128(input.subarray(i + CHECKSUM, end));
      if (hash.low !== view.getBigUint64(i, true) || hash.high !== view.getBigUint64(i + 8, true)) {
        throw new NativeBlockError(`checksum does not match in the compressed block at byte ${i} (CityHash128 v1.0.2 of the block after its 16 checksum bytes)`);
      }
    }
    if (total + size > limit) throw new BodyTooLarge();
    const data = input.subarray(i + CHECKSUM + HEADER, end);
    out.push(inflate(method, data, size, i));
    total += size;
    i = end;
  }
  return Buffer.concat(out, total);
}

function inflate(method: number, data: Uint8Array, size: number, at: number): Uint8Array {
  let result: Uint8Array;
  if (method === METHOD_BYTE.NONE) {
    result = data;
  } else if (method === METHOD_BYTE.LZ4) {
    const block = Buffer.allocUnsafe(size);
    try {
      result = block.subarray(0, lz4DecodeBlock(data, block, 0, 0));
    } catch (err) {
      if (err instanceof Lz4SizeError) throw new NativeBlockError(`the LZ4 block at byte ${at} inflates past the ${size} bytes it declares`);
      throw new NativeBlockError(`the LZ4 block at byte ${at} is not valid LZ4: ${(err as Error).message}`);
    }
  } else if (method === METHOD_BYTE.ZSTD) {
    try {
      result = zlib.zstdDecompressSync(data, { maxOutputLength: Math.max(1, size) });
    } catch (err) {
      throw new NativeBlockError(`the ZSTD block at byte ${at} does not inflate to the ${size} bytes it declares: ${(err as Error).message}`);
    }
  } else {
    throw new NativeBlockError(`the compressed block at byte ${at} uses method 0x${method.toString(16)}; LZ4 (0x82), ZSTD (0x90) and none (0x02) are supported`);
  }
  if (result.length !== size) throw new NativeBlockError(`the compressed block at byte ${at} inflates to ${result.length} bytes, not the ${size} it declares`);
  return result;
}

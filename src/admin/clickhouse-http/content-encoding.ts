/**
 * HTTP compression, as ClickHouse's HTTP interface names and chooses it:
 * `Content-Encoding` of a request body, and `Accept-Encoding` for the answer
 * (with `enable_http_compression=1`).
 *
 * | name (aliases ClickHouse accepts)  | request body              | answer                          |
 * |------------------------------------|---------------------------|---------------------------------|
 * | gzip (gz, x-gzip), deflate, br (brotli), zstd (zst) | node:zlib  | node:zlib                       |
 * | lz4                                | LZ4 frames (lz4-frame.ts) | LZ4 frames                      |
 * | xz (lzma)                          | liblzma (lzma-native)     | liblzma, preset = level (3)     |
 * | bz2 (bzip2)                        | seek-bzip                 | not offered (see below)         |
 * | snappy                             | Hadoop snappy framing     | not offered (neither does ClickHouse) |
 *
 * Every decoder stops at the size cap it is given while it inflates, so a
 * small body cannot become a large one in memory.
 *
 * Answers: ClickHouse picks, among the offered names, zstd, br, lz4, snappy,
 * gzip, deflate, xz, bz2 in that order. It cannot write snappy itself (the
 * request fails with 48), and no well-kept bzip2 encoder exists for Node
 * (the one pure-JS encoder is GPL and unmaintained), so neither is offered
 * here: a client that accepts only those gets an uncompressed answer, which
 * HTTP always allows.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as bunzip from 'seek-bzip';
import { Lz4SizeError } from './lz4-block';
import { lz4FrameCompress, lz4FrameDecompress } from './lz4-frame';

export type HttpCodec = 'gzip' | 'deflate' | 'br' | 'zstd' | 'lz4' | 'xz' | 'bz2' | 'snappy';

/** Request Content-Encoding names, ClickHouse's and its aliases. */
const REQUEST_NAMES: Record<string, HttpCodec | 'identity'> = {
  '': 'identity',
  identity: 'identity',
  none: 'identity',
  auto: 'identity',
  gzip: 'gzip',
  gz: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
  brotli: 'br',
  zstd: 'zstd',
  zst: 'zstd',
  lz4: 'lz4',
  xz: 'xz',
  lzma: 'xz',
  bz2: 'bz2',
  bzip2: 'bz2',
  snappy: 'snappy',
};

/** Answer encodings in ClickHouse's order of preference, less the two it or Node cannot write well (above). */
const ANSWER_PREFERENCE: readonly HttpCodec[] = ['zstd', 'br', 'lz4', 'gzip', 'deflate', 'xz'];

/** ClickHouse's default http_zlib_compression_level, which it also gives the other codecs. */
const DEFAULT_LEVEL = 3;

/**
 * xz and snappy are native bindings (prebuilt for the platforms the service
 * ships on): loaded on first use, so a platform without the binary loses
 * that codec — the request fails naming why, xz is not offered for answers —
 * and never the admin port.
 */
let lzmaModule: typeof import('lzma-native') | undefined;
let snappyModule: typeof import('snappy') | undefined;
function lzma(): typeof import('lzma-native') {
  return (lzmaModule ??= require('lzma-native') as typeof import('lzma-native'));
}
function snappy(): typeof import('snappy') {
  return (snappyModule ??= require('snappy') as typeof import('snappy'));
}
function loads(codec: HttpCodec): boolean {
  try {
    if (codec === 'xz') lzma();
    return true;
  } catch {
    return false;
  }
}

/** The body would inflate past its cap. */
export class BodyTooLarge extends Error {}
/** A Content-Encoding this interface (and ClickHouse) does not know. */
export class UnknownEncoding extends Error {}

/** The codec of a request's Content-Encoding; undefined for none. Throws UnknownEncoding. */
export function requestCodec(contentEncoding: string): HttpCodec | undefined {
  const name = contentEncoding.trim().toLowerCase();
  const codec = REQUEST_NAMES[name];
  if (codec === undefined) {
    throw new UnknownEncoding(`Unknown Content-Encoding ${JSON.stringify(name)}: gzip, deflate, br, xz, zstd, lz4, bz2 and snappy are supported`);
  }
  return codec === 'identity' ? undefined : codec;
}

/** Inflates `raw` in `codec`; more than `limit` bytes throws BodyTooLarge, bad data an Error saying why. */
export async function decodeBody(codec: HttpCodec, raw: Buffer, limit: number): Promise<Buffer> {
  const options = { maxOutputLength: Math.max(1, limit) };
  try {
    switch (codec) {
      case 'gzip':
        return await promisify(zlib.gunzip)(raw, options);
      case 'deflate':
        return await promisify(zlib.inflate)(raw, options);
      case 'br':
        return await promisify(zlib.brotliDecompress)(raw, options);
      case 'zstd':
        return await promisify(zlib.zstdDecompress)(raw, options);
      case 'lz4':
        return lz4FrameDecompress(raw, limit);
      case 'xz':
        return await xzDecode(raw, limit);
      case 'bz2':
        return bz2Decode(raw, limit);
      case 'snappy':
        return hadoopSnappyDecode(raw, limit);
    }
  } catch (err) {
    if (err instanceof BodyTooLarge || err instanceof Lz4SizeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new BodyTooLarge();
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** The encoding to answer in for an Accept-Encoding header (names with q=0 excluded); undefined = none. */
export function pickAnswerCodec(acceptEncoding: string): HttpCodec | undefined {
  const offered = acceptEncoding
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, q]) => q === undefined || !/^\s*q=0(\.0*)?\s*$/.test(q))
    .map(([name]) => name!.trim().toLowerCase());
  return ANSWER_PREFERENCE.find((codec) => offered.includes(codec) && loads(codec));
}

/** `body` compressed in `codec`; `level` is http_zlib_compression_level (ClickHouse applies it to every codec). */
export async function encodeBody(codec: HttpCodec, body: Uint8Array, level: number | undefined): Promise<Uint8Array> {
  switch (codec) {
    case 'gzip':
      return promisify(zlib.gzip)(body, level !== undefined ? { level } : {});
    case 'deflate':
      return promisify(zlib.deflate)(body, level !== undefined ? { level } : {});
    case 'br':
      return promisify(zlib.brotliCompress)(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level ?? 4 } });
    case 'zstd':
      return promisify(zlib.zstdCompress)(body, level !== undefined ? { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } } : {});
    case 'lz4':
      return lz4FrameCompress(body);
    case 'xz':
      return lzma().compress(body, { preset: level ?? DEFAULT_LEVEL });
    case 'bz2':
    case 'snappy':
      throw new Error(`${codec} answers are not written (see content-encoding.ts)`);
  }
}

/** liblzma's .xz decoder, fed the body and stopped as soon as its output passes `limit`. */
function xzDecode(raw: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The decoder's own memory (its dictionary) is bounded too: xz presets use at most 64 MiB.
    const decoder = lzma().createDecompressor({ memlimit: 128 * 1024 * 1024 });
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      reject(err);
    };
    decoder.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) return fail(new BodyTooLarge());
      chunks.push(chunk);
    });
    decoder.on('error', (err: Error) => fail(err));
    decoder.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    decoder.end(raw);
  });
}

/** bzip2 (every concatenated stream), decoded byte by byte into pages; stops at `limit`. */
function bz2Decode(raw: Buffer, limit: number): Buffer {
  const PAGE = 64 * 1024;
  const pages: Buffer[] = [];
  let page = Buffer.allocUnsafe(PAGE);
  let at = 0;
  let total = 0;
  bunzip.decode(
    raw,
    {
      writeByte(byte: number): void {
        if (++total > limit) throw new BodyTooLarge();
        page[at++] = byte;
        if (at === PAGE) {
          pages.push(page);
          page = Buffer.allocUnsafe(PAGE);
          at = 0;
        }
      },
    },
    true,
  );
  pages.push(page.subarray(0, at));
  return Buffer.concat(pages, total);
}

/**
 * Snappy as ClickHouse reads a request body: Hadoop's block framing (what
 * Hadoop, Spark and Hive write as .snappy) — a big-endian uncompressed block
 * length, then chunks of big-endian compressed length + raw snappy, until
 * the block is complete. Both lengths are checked against the cap before
 * anything is inflated.
 */
function hadoopSnappyDecode(raw: Buffer, limit: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let i = 0;
  const need = (n: number): void => {
    if (i + n > raw.length) throw new Error('the snappy body ends inside a block');
  };
  while (i < raw.length) {
    need(4);
    const blockLength = raw.readUInt32BE(i);
    i += 4;
    if (total + blockLength > limit) throw new BodyTooLarge();
    let produced = 0;
    while (produced < blockLength) {
      need(4);
      const chunkLength = raw.readUInt32BE(i);
      i += 4;
      need(chunkLength);
      const chunk = raw.subarray(i, i + chunkLength);
      i += chunkLength;
      if (produced + snappyLength(chunk) > blockLength) throw new Error('a snappy chunk is larger than its block');
      const data = snappy().uncompressSync(chunk, { asBuffer: true }) as Buffer;
      out.push(data);
      produced += data.length;
    }
    total += produced;
  }
  return Buffer.concat(out, total);
}

/** The uncompressed length a raw snappy chunk declares (its varint preamble). */
function snappyLength(chunk: Buffer): number {
  let value = 0;
  for (let k = 0; k < 5 && k < chunk.length; k++) {
    value += (chunk[k]! & 0x7f) * 2 ** (7 * k);
    if ((chunk[k]! & 0x80) === 0) return value;
  }
  throw new Error('a snappy chunk has no valid length');
}

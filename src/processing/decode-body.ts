/**
 * Undoes Content-Encoding with a hard bound on the output: decoding stops as
 * soon as `maxOutputBytes` + 1 bytes have come out, so a decompression bomb
 * costs at most one zlib output chunk past the cap. Input that was itself cut
 * at the capture cap is decoded as far as it goes (sync flush) instead of
 * failing on the missing end.
 */
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';

export type DecodeResult =
  | { kind: 'identity'; data: Uint8Array }
  | { kind: 'decoded'; data: Buffer; overCap: boolean }
  | { kind: 'failed'; error: string }
  | { kind: 'unsupported'; encoding: string };

const OUTPUT_CHUNK_BYTES = 16 * 1024;

function createDecoder(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES });
    case 'deflate':
      // HTTP "deflate" is zlib-wrapped; some servers send raw deflate. unzip-style detection below.
      return zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES });
    case 'br':
      return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES });
    case 'zstd':
      return zlib.createZstdDecompress({ finishFlush: zlib.constants.ZSTD_e_flush, chunkSize: OUTPUT_CHUNK_BYTES } as zlib.ZstdOptions);
    default:
      return undefined;
  }
}

/** Content-Encoding can list several codings, applied in order; they are undone in reverse. */
export function parseContentEncoding(header: string): string[] {
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

export async function decodeBody(input: Uint8Array, contentEncoding: string, maxOutputBytes: number): Promise<DecodeResult> {
  const codings = parseContentEncoding(contentEncoding);
  if (codings.length === 0) return { kind: 'identity', data: input };
  let data: Buffer = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  let overCap = false;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    let result = await runDecoder(coding, data, maxOutputBytes);
    if (result.kind === 'failed' && coding === 'deflate') {
      // Raw deflate without the zlib wrapper is common enough to try.
      result = await runDecoder('deflate-raw', data, maxOutputBytes);
    }
    if (result.kind !== 'decoded') return result;
    data = result.data;
    overCap = overCap || result.overCap;
  }
  return { kind: 'decoded', data, overCap };
}

function runDecoder(coding: string, input: Buffer, maxOutputBytes: number): Promise<DecodeResult> {
  const decoder =
    coding === 'deflate-raw'
      ? zlib.createInflateRaw({ finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK_BYTES })
      : createDecoder(coding);
  if (decoder === undefined) return Promise.resolve({ kind: 'unsupported', encoding: coding });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (result: DecodeResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    decoder.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      total += chunk.length;
      if (total > maxOutputBytes) {
        decoder.destroy();
        settle({ kind: 'decoded', data: Buffer.concat(chunks, total), overCap: true });
      }
    });
    decoder.on('error', (err: Error) => {
      // Output already produced before the error is still the body's start,
      // but a failure with nothing decoded means this is not that encoding.
      if (total > 0) settle({ kind: 'decoded', data: Buffer.concat(chunks, total), overCap: false });
      else settle({ kind: 'failed', error: err.message });
    });
    decoder.on('end', () => settle({ kind: 'decoded', data: Buffer.concat(chunks, total), overCap: false }));
    decoder.end(input);
  });
}

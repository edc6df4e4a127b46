/**
 * One direction's body inside a worker, fed chunk by chunk as it comes off
 * the wire, in bounded memory whatever the body's length:
 *
 *   wire bytes ─▶ SHA-256 (of the wire bytes) ─▶ Content-Encoding decoder ─▶ head+tail buffer
 *                                                                         └─▶ onDecoded (GenAI folding)
 *
 * Decoding is streaming (gzip, deflate, br, zstd), tolerant of a body cut
 * short (sync flush), and guarded against decompression bombs: once the
 * decoded output is past the kept size and more than BOMB_RATIO times the
 * wire bytes, decoding stops and the row says so. If the encoding does not
 * decode, the first wire bytes are kept raw so the row can store them
 * base64-encoded.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { HeadTailBuffer, SKIP_MARKER_MAX_BYTES } from './head-tail-buffer';
import { parseContentEncoding } from './content-encoding';

const EMPTY_BYTES = new Uint8Array(0);

/** Decoded/wire ratio past which a body counts as a decompression bomb (real JSON/SSE stays well under 50). */
export const BOMB_RATIO = 200;
const OUTPUT_CHUNK_BYTES = 16 * 1024;

export interface BodyStreamOptions {
  contentEncoding: string;
  /** Rendered body size, marker included. */
  maxBytes: number;
  /** Bytes kept from the start when the body is larger than maxBytes; the rest of maxBytes keeps the end. */
  headBytes: number;
  onDecoded?: (bytes: Uint8Array) => void;
}

export type DecodeStatus = 'identity' | 'decoded' | 'failed' | 'unsupported' | 'bomb_stopped';

export interface BodyStreamResult {
  /** Decoded bytes: head, skip marker, tail (or everything when it fitted). */
  rendered: Uint8Array;
  /** True when bytes were skipped or decoding stopped early. */
  truncated: boolean;
  decodeStatus: DecodeStatus;
  decodeError: string;
  wireBytes: number;
  decodedBytes: number;
  sha256: string;
  /** First wire bytes, for storing a body that did not decode. */
  rawHead: Uint8Array;
}

function createDecoder(coding: string): Transform | undefined {
  const common = { chunkSize: OUTPUT_CHUNK_BYTES };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip({ ...common, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress({ ...common, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    case 'zstd':
      return zlib.createZstdDecompress({ ...common, finishFlush: zlib.constants.ZSTD_e_flush } as zlib.ZstdOptions);
    default:
      return undefined;
  }
}

export class BodyStreamProcessor {
  private readonly hash: Hash = createHash('sha256');
  private readonly buffer: HeadTailBuffer;
  /**
   * First wire bytes of an encoded body, kept in case it does not decode
   * (stored raw then). Identity bodies never need it, so it is allocated
   * only for encoded ones, and grown as bytes come.
   */
  private rawHead: Uint8Array = EMPTY_BYTES;
  private rawHeadLength = 0;
  private wireBytes = 0;
  private decodedBytes = 0;
  private status: DecodeStatus = 'identity';
  private error = '';
  private decoder: Transform | undefined;
  /** Settles when the decoder can make no more progress (error, or destroyed after a bomb). */
  private stopped: Promise<void> | undefined;
  private ended = false;
  /** "deflate" only: first bytes seen before the decoder is chosen. */
  private deflateProbe: Uint8Array | undefined;

  constructor(private readonly options: BodyStreamOptions) {
    // The marker needs room of its own; a tiny maxBytes still renders (the row cuts it to maxBytes).
    const bufferBytes = Math.max(options.maxBytes, 2 * SKIP_MARKER_MAX_BYTES);
    const headBytes = Math.max(0, Math.min(options.headBytes, bufferBytes - SKIP_MARKER_MAX_BYTES));
    this.buffer = new HeadTailBuffer({ maxBytes: bufferBytes, headBytes });
    const codings = parseContentEncoding(options.contentEncoding);
    if (codings.length > 1) {
      // Stacked encodings are legal but essentially unseen; keep them raw rather than half-decode.
      this.status = 'unsupported';
      this.error = `stacked content-encoding "${options.contentEncoding}"`;
    } else if (codings[0] === 'deflate') {
      // HTTP "deflate" is zlib-wrapped, but servers sending raw deflate are common:
      // which one it is shows in the first two bytes.
      this.status = 'decoded';
      this.deflateProbe = new Uint8Array(0);
    } else if (codings.length === 1) {
      const decoder = createDecoder(codings[0]!);
      if (decoder === undefined) {
        this.status = 'unsupported';
        this.error = `content-encoding "${codings[0]}"`;
      } else {
        this.status = 'decoded';
        this.startDecoder(decoder);
      }
    }
  }

  private startDecoder(decoder: Transform): void {
    this.decoder = decoder;
    decoder.on('data', (chunk: Buffer) => this.accept(chunk));
    this.stopped = new Promise((resolve) => {
      decoder.once('close', () => resolve());
      decoder.once('error', (err: Error) => {
        if (this.status === 'decoded') {
          // Nothing came out: not that encoding. Something came out: the body's start is still good.
          if (this.decodedBytes === 0) this.status = 'failed';
          this.error = err.message;
        }
        resolve();
      });
    });
  }

  /** Holds the first bytes of a "deflate" body until the zlib header can be checked. */
  private probeDeflate(bytes: Uint8Array): Uint8Array | undefined {
    const probe = new Uint8Array(this.deflateProbe!.length + bytes.length);
    probe.set(this.deflateProbe!);
    probe.set(bytes, this.deflateProbe!.length);
    if (probe.length < 2) {
      this.deflateProbe = probe;
      return undefined;
    }
    this.deflateProbe = undefined;
    const zlibWrapped = (probe[0]! & 0x0f) === 8 && ((probe[0]! << 8) | probe[1]!) % 31 === 0;
    const options = { chunkSize: OUTPUT_CHUNK_BYTES, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    this.startDecoder(zlibWrapped ? zlib.createInflate(options) : zlib.createInflateRaw(options));
    return probe;
  }

  async push(bytes: Uint8Array): Promise<void> {
    if (this.ended || bytes.length === 0) return;
    this.wireBytes += bytes.length;
    this.hash.update(bytes);
    if (this.status !== 'identity' && this.rawHeadLength < this.options.maxBytes) this.keepRaw(bytes);
    if (this.status === 'identity') {
      this.accept(bytes);
      return;
    }
    let input: Uint8Array | undefined = bytes;
    if (this.deflateProbe !== undefined) input = this.probeDeflate(bytes);
    if (input === undefined || this.status !== 'decoded' || this.decoder === undefined || this.decoder.destroyed) return;
    const decoder = this.decoder;
    const chunk = input;
    await Promise.race([new Promise<void>((resolve) => decoder.write(chunk, () => resolve())), this.stopped]);
  }

  async end(): Promise<BodyStreamResult> {
    if (!this.ended) {
      this.ended = true;
      // A one-byte "deflate" body never got its decoder: it cannot be valid either way.
      if (this.deflateProbe !== undefined && this.deflateProbe.length > 0) {
        this.status = 'failed';
        this.error = 'deflate body too short';
      }
      const decoder = this.decoder;
      if (decoder !== undefined && this.status === 'decoded' && !decoder.destroyed) {
        await Promise.race([
          new Promise<void>((resolve) => {
            decoder.once('end', () => resolve());
            decoder.end();
          }),
          this.stopped,
        ]);
      }
      decoder?.destroy();
    }
    const render = this.buffer.renderBytes();
    return {
      rendered: render.body,
      truncated: render.truncated || this.status === 'bomb_stopped',
      decodeStatus: this.status,
      decodeError: this.error,
      wireBytes: this.wireBytes,
      decodedBytes: this.decodedBytes,
      sha256: this.wireBytes > 0 ? this.hash.digest('hex') : '',
      rawHead: this.rawHead.subarray(0, this.rawHeadLength),
    };
  }

  private keepRaw(bytes: Uint8Array): void {
    const take = Math.min(bytes.length, this.options.maxBytes - this.rawHeadLength);
    if (this.rawHeadLength + take > this.rawHead.length) {
      const grown = new Uint8Array(Math.min(this.options.maxBytes, Math.max(this.rawHeadLength + take, 2 * this.rawHead.length)));
      grown.set(this.rawHead.subarray(0, this.rawHeadLength));
      this.rawHead = grown;
    }
    this.rawHead.set(bytes.subarray(0, take), this.rawHeadLength);
    this.rawHeadLength += take;
  }

  private accept(bytes: Uint8Array): void {
    if (this.status === 'bomb_stopped') return;
    this.decodedBytes += bytes.length;
    this.buffer.push(bytes);
    this.options.onDecoded?.(bytes);
    if (this.status === 'decoded' && this.decodedBytes > this.options.maxBytes && this.decodedBytes > BOMB_RATIO * this.wireBytes) {
      this.status = 'bomb_stopped';
      this.error = `decoded size passed ${BOMB_RATIO}x the wire size; decoding stopped`;
      this.decoder?.destroy();
    }
  }
}

/**
 * gRPC's length-prefixed messages on an HTTP/2 stream: a 1-byte compressed
 * flag, a 4-byte big-endian length, then the message. DATA frames cut
 * messages anywhere, and one frame often carries many whole messages (Envoy
 * writes an exchange's messages as they come; a load client writes them
 * back to back), so the reader walks each chunk once, hands out each whole
 * message as a view of it, and copies only messages split across chunks.
 * A view shares Node's HTTP/2 read buffer with other streams' bytes, so a
 * handler must not keep one past the call: body bytes that are kept are
 * copied (capture/pending-body.ts).
 *
 * Compressed messages (flag 1) are inflated with the call's grpc-encoding
 * (gzip or deflate, as grpc-js accepts); Envoy sends none by default.
 */
import * as zlib from 'node:zlib';
import { GrpcCallError, GrpcStatus } from './grpc-status';

const PREFIX_BYTES = 5;

export class GrpcMessageReader {
  /** Bytes of an incomplete prefix, or of a message body whose prefix was read, until it is whole. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Length of the message being gathered; -1 while no prefix is complete. */
  private expected = -1;
  private compressed = false;

  constructor(
    private readonly maxMessageBytes: number,
    /** The call's grpc-encoding header: how messages with the compressed flag are compressed. */
    private readonly encoding: string,
  ) {}

  /** Calls `onMessage` with each message completed by `chunk`, in order; throws GrpcCallError on bad framing. */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let at = 0;
    if (this.expected >= 0) {
      const need = this.expected - this.partialBytes;
      if (chunk.length < need) {
        this.keep(chunk);
        return;
      }
      this.partial.push(chunk.subarray(0, need));
      const whole = Buffer.concat(this.partial, this.expected);
      this.partial = [];
      this.partialBytes = 0;
      this.expected = -1;
      onMessage(this.payload(whole));
      at = need;
    } else if (this.partialBytes > 0) {
      // Fewer than five bytes of a prefix were left over: rare, so the chunk is copied behind them.
      chunk = Buffer.concat([...this.partial, chunk]);
      this.partial = [];
      this.partialBytes = 0;
    }
    while (chunk.length - at >= PREFIX_BYTES) {
      const length = this.readPrefix(chunk[at]!, chunk.readUInt32BE(at + 1));
      const start = at + PREFIX_BYTES;
      if (chunk.length - start < length) {
        this.expected = length;
        this.keep(chunk.subarray(start));
        return;
      }
      at = start + length;
      onMessage(this.payload(chunk.subarray(start, at)));
    }
    if (at < chunk.length) this.keep(chunk.subarray(at));
  }

  /** True when no part of a message is waiting for more bytes (a half-close here is clean). */
  get idle(): boolean {
    return this.partialBytes === 0 && this.expected < 0;
  }

  private readPrefix(flag: number, length: number): number {
    if (flag > 1) throw new GrpcCallError(GrpcStatus.INTERNAL, `invalid gRPC message flag ${flag}`);
    if (length > this.maxMessageBytes) {
      throw new GrpcCallError(GrpcStatus.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${this.maxMessageBytes})`);
    }
    this.compressed = flag === 1;
    return length;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.partial.push(bytes);
    this.partialBytes += bytes.length;
  }

  private payload(bytes: Buffer): Buffer {
    if (!this.compressed) return bytes;
    const options = { maxOutputLength: this.maxMessageBytes };
    try {
      if (this.encoding === 'gzip') return zlib.gunzipSync(bytes, options);
      if (this.encoding === 'deflate') return zlib.inflateSync(bytes, options);
    } catch (err) {
      const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new GrpcCallError(tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, tooLarge ? `message inflates past max (${this.maxMessageBytes})` : 'failed to decompress message');
    }
    throw new GrpcCallError(GrpcStatus.UNIMPLEMENTED, `message compressed with unsupported encoding "${this.encoding}"`);
  }
}

/** One message with its gRPC prefix (never compressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/**
 * Incremental decoder for application/vnd.amazon.eventstream, the binary
 * framing of Bedrock ConverseStream (and other AWS streaming APIs).
 *
 * Frame layout (all integers big-endian):
 *   total length u32 | headers length u32 | prelude CRC32 u32   (the prelude)
 *   headers (headers length bytes) | payload | message CRC32 u32
 * The prelude CRC covers the first 8 bytes; the message CRC covers every
 * byte before it. Header: name length u8, name (UTF-8), value type u8, value.
 *
 * A bad message CRC costs one frame: the prelude vouched for the length, so
 * decoding resumes at the next frame. A bad prelude CRC means the length
 * itself cannot be trusted and there is no marker to resynchronise on, so the
 * rest of the stream is counted as corrupt and ignored.
 *
 * Memory: at most one frame (≤ maxMessageBytes) is buffered. A larger frame is
 * counted as oversized and its bytes are skipped as they arrive.
 */
import { crc32 } from 'node:zlib';
import { requirePositiveInt } from './errors';

const PRELUDE_BYTES = 12;
const MESSAGE_CRC_BYTES = 4;
const MIN_MESSAGE_BYTES = PRELUDE_BYTES + MESSAGE_CRC_BYTES;

export type AwsEventStreamHeaderValue =
  | { type: 'bool'; value: boolean }
  | { type: 'byte' | 'short' | 'int'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'string'; value: string }
  /** Milliseconds since the epoch. */
  | { type: 'timestamp'; value: number }
  /** Canonical 8-4-4-4-12 lower-case hex. */
  | { type: 'uuid'; value: string };

export interface AwsEventStreamMessage {
  headers: Record<string, AwsEventStreamHeaderValue>;
  payload: Uint8Array;
}

export interface AwsEventStreamStats {
  messages: number;
  /** Frames dropped for a CRC mismatch or headers that overrun the frame. */
  badFrames: number;
  /** Frames larger than maxMessageBytes, skipped. */
  oversizedMessages: number;
  /** A prelude failed its CRC: everything after it was ignored. */
  corrupt: boolean;
  /** Bytes left over at end() that did not make a whole frame (a cut stream). */
  trailingBytes: number;
}

export interface AwsEventStreamDecoderOptions {
  maxMessageBytes: number;
  onMessage(message: AwsEventStreamMessage): void;
}

/** The string value of a header, or undefined when absent or of another type. */
export function headerString(message: AwsEventStreamMessage, name: string): string | undefined {
  const h = message.headers[name];
  return h !== undefined && h.type === 'string' ? h.value : undefined;
}

export class AwsEventStreamDecoder {
  private readonly maxMessageBytes: number;
  private readonly onMessage: (message: AwsEventStreamMessage) => void;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of an oversized frame still to be skipped. */
  private skipBytes = 0;
  /** Length of the frame being assembled once its prelude checked out (-1: reading a prelude). */
  private frameTotal = -1;
  private frameHeadersLength = -1;
  readonly stats: AwsEventStreamStats = { messages: 0, badFrames: 0, oversizedMessages: 0, corrupt: false, trailingBytes: 0 };

  constructor(options: AwsEventStreamDecoderOptions) {
    this.maxMessageBytes = Math.max(requirePositiveInt('maxMessageBytes', options.maxMessageBytes), MIN_MESSAGE_BYTES);
    this.onMessage = options.onMessage;
  }

  push(chunk: Uint8Array): void {
    if (this.stats.corrupt || chunk.byteLength === 0) return;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.skipBytes > 0) {
      const n = Math.min(this.skipBytes, buf.length);
      this.skipBytes -= n;
      buf = buf.subarray(n);
      if (buf.length === 0) return;
    }
    // Copied: the caller may reuse its chunk once push() returns.
    this.pending.push(Buffer.from(buf));
    this.pendingBytes += buf.length;
    this.drain();
  }

  end(): void {
    if (!this.stats.corrupt) this.stats.trailingBytes = this.pendingBytes + this.skipBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipBytes = 0;
    this.frameTotal = -1;
  }

  private drain(): void {
    while (true) {
      if (this.frameTotal === -1) {
        if (this.pendingBytes < PRELUDE_BYTES) return;
        const head = this.peekPrelude();
        const total = head.readUInt32BE(0);
        const headersLength = head.readUInt32BE(4);
        if (crc32(head.subarray(0, 8)) !== head.readUInt32BE(8) || total < MIN_MESSAGE_BYTES || headersLength > total - MIN_MESSAGE_BYTES) {
          this.stats.badFrames += 1;
          this.stats.corrupt = true;
          this.pending = [];
          this.pendingBytes = 0;
          return;
        }
        if (total > this.maxMessageBytes) {
          this.stats.oversizedMessages += 1;
          const available = Math.min(total, this.pendingBytes);
          this.consume(available);
          this.skipBytes = total - available;
          if (this.skipBytes > 0) return;
          continue;
        }
        this.frameTotal = total;
        this.frameHeadersLength = headersLength;
      }
      // Waiting for the rest of the frame costs nothing per chunk: bytes are only joined once.
      if (this.pendingBytes < this.frameTotal) return;
      const frame = this.consume(this.frameTotal);
      const headersLength = this.frameHeadersLength;
      this.frameTotal = -1;
      this.frameHeadersLength = -1;
      this.decodeFrame(frame, headersLength);
    }
  }

  private decodeFrame(frame: Buffer, headersLength: number): void {
    const end = frame.length - MESSAGE_CRC_BYTES;
    if (crc32(frame.subarray(0, end)) !== frame.readUInt32BE(end)) {
      this.stats.badFrames += 1;
      return;
    }
    const headers = parseHeaders(frame.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headersLength));
    if (headers === undefined) {
      this.stats.badFrames += 1;
      return;
    }
    this.stats.messages += 1;
    this.onMessage({ headers, payload: new Uint8Array(frame.subarray(PRELUDE_BYTES + headersLength, end)) });
  }

  /** The 12 prelude bytes, without consuming them (pendingBytes ≥ 12). */
  private peekPrelude(): Buffer {
    const first = this.pending[0]!;
    if (first.length >= PRELUDE_BYTES) return first.subarray(0, PRELUDE_BYTES);
    const out = Buffer.alloc(PRELUDE_BYTES);
    let filled = 0;
    for (const part of this.pending) {
      filled += part.copy(out, filled, 0, Math.min(part.length, PRELUDE_BYTES - filled));
      if (filled === PRELUDE_BYTES) break;
    }
    return out;
  }

  /** Removes and returns the first n pending bytes (n ≤ pendingBytes). */
  private consume(n: number): Buffer {
    const first = this.pending[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      out = all.subarray(0, n);
      this.pending = all.length > n ? [all.subarray(n)] : [];
    }
    this.pendingBytes -= n;
    return out;
  }
}

/** Parses a header block; undefined when a value overruns it or a type is unknown. */
function parseHeaders(block: Buffer): Record<string, AwsEventStreamHeaderValue> | undefined {
  const headers: Record<string, AwsEventStreamHeaderValue> = Object.create(null) as Record<string, AwsEventStreamHeaderValue>;
  let p = 0;
  const need = (n: number): boolean => p + n <= block.length;
  while (p < block.length) {
    const nameLength = block[p]!;
    p += 1;
    if (nameLength === 0 || !need(nameLength + 1)) return undefined;
    const name = block.toString('utf8', p, p + nameLength);
    p += nameLength;
    const type = block[p]!;
    p += 1;
    let value: AwsEventStreamHeaderValue;
    switch (type) {
      case 0:
        value = { type: 'bool', value: true };
        break;
      case 1:
        value = { type: 'bool', value: false };
        break;
      case 2:
        if (!need(1)) return undefined;
        value = { type: 'byte', value: block.readInt8(p) };
        p += 1;
        break;
      case 3:
        if (!need(2)) return undefined;
        value = { type: 'short', value: block.readInt16BE(p) };
        p += 2;
        break;
      case 4:
        if (!need(4)) return undefined;
        value = { type: 'int', value: block.readInt32BE(p) };
        p += 4;
        break;
      case 5:
        if (!need(8)) return undefined;
        value = { type: 'long', value: block.readBigInt64BE(p) };
        p += 8;
        break;
      case 6:
      case 7: {
        if (!need(2)) return undefined;
        const len = block.readUInt16BE(p);
        p += 2;
        if (!need(len)) return undefined;
        value = type === 6 ? { type: 'bytes', value: new Uint8Array(block.subarray(p, p + len)) } : { type: 'string', value: block.toString('utf8', p, p + len) };
        p += len;
        break;
      }
      case 8:
        if (!need(8)) return undefined;
        value = { type: 'timestamp', value: Number(block.readBigInt64BE(p)) };
        p += 8;
        break;
      case 9: {
        if (!need(16)) return undefined;
        const h = block.toString('hex', p, p + 16);
        value = { type: 'uuid', value: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
        p += 16;
        break;
      }
      default:
        return undefined;
    }
    headers[name] = value;
  }
  return headers;
}

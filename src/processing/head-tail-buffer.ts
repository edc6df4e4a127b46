/**
 * Keeps the first and the last bytes of a body that may be far larger than
 * what we store, in O(head + tail) memory: the head fills once, the tail is a
 * ring that always holds the latest bytes. For SSE this keeps the start of
 * the answer and the final events (usage, finish reason, errors) that a
 * plain prefix cut would lose.
 *
 * Rendering: a body that fits in maxBytes comes out whole. A larger one comes
 * out as head + `\n[… N bytes skipped …]\n` + tail, where N counts every byte
 * not shown, and the whole stays within maxBytes (the tail gives up the
 * marker's room). Text rendering also cuts on UTF-8 character boundaries:
 * a partial character at the end of the head or the start of the tail is
 * dropped and counted in N.
 */
import { DEFAULT_HEAD_FRACTION } from './genai/defaults';
import { GenAiConfigError, requirePositiveInt } from './genai/errors';

export interface HeadTailBufferOptions {
  /** Total rendered size, marker included (bytes). */
  maxBytes: number;
  /** Bytes kept from the start; defaults to half of what remains after the marker's room. */
  headBytes?: number;
}

export interface HeadTailRender<T> {
  body: T;
  /** Bytes pushed in total. */
  totalBytes: number;
  /** Bytes not shown (0 when the body fitted). */
  skippedBytes: number;
  /** True when a marker was inserted. */
  truncated: boolean;
}

/** The gap marker for n skipped bytes. */
export function skipMarker(n: number): string {
  return `\n[… ${n} bytes skipped …]\n`;
}

/** Room reserved for the marker: its size with the largest count it can hold. */
export const SKIP_MARKER_MAX_BYTES = Buffer.byteLength(skipMarker(Number.MAX_SAFE_INTEGER), 'utf8');

export class HeadTailBuffer {
  private readonly maxBytes: number;
  private readonly headCap: number;
  private readonly tailCap: number;
  private head: Buffer = Buffer.alloc(0);
  private headLen = 0;
  private ring: Buffer | undefined;
  private ringPos = 0;
  private ringFilled = 0;
  private total = 0;

  constructor(options: HeadTailBufferOptions) {
    this.maxBytes = requirePositiveInt('maxBytes', options.maxBytes);
    const room = this.maxBytes - SKIP_MARKER_MAX_BYTES;
    if (room < 2) {
      throw new GenAiConfigError('CAP_ERR_GENAI_LIMIT_INVALID', [`maxBytes must be more than ${SKIP_MARKER_MAX_BYTES + 1} to hold the skip marker, got ${this.maxBytes}`]);
    }
    const head = options.headBytes ?? Math.floor(room * DEFAULT_HEAD_FRACTION);
    if (!Number.isSafeInteger(head) || head < 0 || head > room) {
      throw new GenAiConfigError('CAP_ERR_GENAI_LIMIT_INVALID', [
        `headBytes must be an integer from 0 to ${room} (maxBytes minus the marker's ${SKIP_MARKER_MAX_BYTES}), got ${String(options.headBytes)}`,
      ]);
    }
    this.headCap = head;
    // The tail may use the marker's room too: when everything fits, no marker is needed.
    this.tailCap = this.maxBytes - head;
  }

  get totalBytes(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.total += data.length;
    if (this.headLen < this.headCap) {
      const n = Math.min(this.headCap - this.headLen, data.length);
      this.growHead(this.headLen + n);
      data.copy(this.head, this.headLen, 0, n);
      this.headLen += n;
      data = data.subarray(n);
    }
    if (data.length === 0 || this.tailCap === 0) return;
    // Allocated only once the body outgrows the head: small bodies never pay for the tail.
    this.ring ??= Buffer.alloc(this.tailCap);
    if (data.length >= this.tailCap) {
      data.copy(this.ring, 0, data.length - this.tailCap);
      this.ringPos = 0;
      this.ringFilled = this.tailCap;
      return;
    }
    const first = Math.min(data.length, this.tailCap - this.ringPos);
    data.copy(this.ring, this.ringPos, 0, first);
    data.copy(this.ring, 0, first);
    this.ringPos = (this.ringPos + data.length) % this.tailCap;
    this.ringFilled = Math.min(this.tailCap, this.ringFilled + data.length);
  }

  /** Raw bytes (no character-boundary cuts). */
  renderBytes(): HeadTailRender<Uint8Array> {
    return this.render(false);
  }

  /** UTF-8 text, cut on character boundaries. */
  renderText(): HeadTailRender<string> {
    const r = this.render(true);
    return { ...r, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('utf8') };
  }

  private render(text: boolean): HeadTailRender<Uint8Array> {
    const head = this.head.subarray(0, this.headLen);
    const tail = this.tailBytes();
    if (this.total <= this.maxBytes) {
      // Everything is still here: the head and the ring never dropped a byte. A body that fitted
      // in the head (most) is a view of it: head bytes are written once and never change.
      const body = tail.length === 0 ? head : Buffer.concat([head, tail]);
      return { body, totalBytes: this.total, skippedBytes: 0, truncated: false };
    }
    let h = head;
    let t = tail.subarray(Math.max(0, tail.length - (this.maxBytes - this.headLen - SKIP_MARKER_MAX_BYTES)));
    if (text) {
      h = h.subarray(0, completeUtf8Prefix(h));
      t = t.subarray(leadingContinuationBytes(t));
    }
    const skipped = this.total - h.length - t.length;
    const marker = Buffer.from(skipMarker(skipped), 'utf8');
    return { body: Buffer.concat([h, marker, t]), totalBytes: this.total, skippedBytes: skipped, truncated: true };
  }

  private tailBytes(): Buffer {
    if (this.ring === undefined) return Buffer.alloc(0);
    if (this.ringFilled < this.tailCap) return this.ring.subarray(0, this.ringFilled);
    return Buffer.concat([this.ring.subarray(this.ringPos), this.ring.subarray(0, this.ringPos)]);
  }

  private growHead(needed: number): void {
    if (needed <= this.head.length) return;
    // Not zero-filled: only the first headLen bytes are ever read, and they are written before.
    const next = Buffer.allocUnsafe(Math.min(this.headCap, Math.max(needed, this.head.length * 2, 1024)));
    this.head.copy(next, 0, 0, this.headLen);
    this.head = next;
  }
}

/** Length of the longest prefix of b that does not end inside a UTF-8 sequence. */
function completeUtf8Prefix(b: Uint8Array): number {
  const n = b.length;
  // Look back at most 3 bytes for the lead byte of the last sequence.
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = b[i]!;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + need <= n ? n : i;
  }
  return n;
}

/** Continuation bytes at the start of b (a character whose start was cut off), at most 3. */
function leadingContinuationBytes(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && i < 3 && (b[i]! & 0xc0) === 0x80) i++;
  return i;
}

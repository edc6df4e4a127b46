/**
 * Splits a byte stream into lines, incrementally and in bounded memory.
 *
 * Works on bytes, not text: CR (0x0D) and LF (0x0A) never occur inside a
 * multi-byte UTF-8 sequence, so splitting first and decoding each line is the
 * same as decoding the whole stream first, without ever holding it. A line
 * longer than maxLineBytes is reported as oversized (with its length) and its
 * bytes are dropped as they arrive, so one runaway line cannot grow memory.
 */
import { requirePositiveInt } from './errors';

const CR = 0x0d;
const LF = 0x0a;

export interface LineSplitterOptions {
  /** Longest line kept, excluding its terminator (bytes). */
  maxLineBytes: number;
  /** true: CR, LF and CRLF all end a line (event-stream rules); false: only LF, a CR before it is dropped (NDJSON). */
  crIsTerminator: boolean;
  /** A complete line, decoded as UTF-8 (invalid sequences become U+FFFD), with its byte length. */
  onLine(line: string, byteLength: number): void;
  /** A line that exceeded maxLineBytes; its content is gone. */
  onOversizedLine(byteLength: number): void;
}

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly crIsTerminator: boolean;
  private readonly onLine: (line: string, byteLength: number) => void;
  private readonly onOversizedLine: (byteLength: number) => void;
  /** Pieces of the line still open at the end of the previous chunk(s). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** The open line already went past the cap; only its length is tracked. */
  private oversized = false;
  /** The previous chunk ended in CR, so an LF starting the next chunk belongs to it (CRLF split in two). */
  private pendingCr = false;

  constructor(options: LineSplitterOptions) {
    this.maxLineBytes = requirePositiveInt('maxLineBytes', options.maxLineBytes);
    this.crIsTerminator = options.crIsTerminator;
    this.onLine = options.onLine;
    this.onOversizedLine = options.onOversizedLine;
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = buf.length;
    if (n === 0) return;
    let pos = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (buf[0] === LF) pos = 1;
    }
    // Next CR / LF positions are cached so each indexOf scans a byte at most once per chunk.
    let nextLf = buf.indexOf(LF, pos);
    let nextCr = this.crIsTerminator ? buf.indexOf(CR, pos) : -1;
    while (pos < n) {
      if (nextLf !== -1 && nextLf < pos) nextLf = buf.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = buf.indexOf(CR, pos);
      if (nextLf === -1 && nextCr === -1) {
        this.appendPartial(buf, pos, n);
        return;
      }
      let end: number;
      let next: number;
      if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
        end = nextCr;
        if (end + 1 < n) {
          next = buf[end + 1] === LF ? end + 2 : end + 1;
        } else {
          next = n;
          this.pendingCr = true;
        }
      } else {
        end = nextLf;
        next = end + 1;
      }
      this.completeLine(buf, pos, end);
      pos = next;
    }
  }

  /** Flushes a last line that had no terminator. */
  end(): void {
    this.pendingCr = false;
    if (this.oversized || this.partsBytes > 0) this.completeLine(Buffer.alloc(0), 0, 0);
  }

  private appendPartial(buf: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len === 0) return;
    if (!this.oversized && this.partsBytes + len > this.maxLineBytes) {
      this.oversized = true;
      this.parts = [];
    }
    this.partsBytes += len;
    // Copied: the caller may reuse or transfer its chunk once push() returns.
    if (!this.oversized) this.parts.push(Buffer.from(buf.subarray(start, end)));
  }

  private completeLine(buf: Buffer, start: number, end: number): void {
    let total = this.partsBytes + (end - start);
    if (this.oversized || total > this.maxLineBytes) {
      this.resetLine();
      this.onOversizedLine(total);
      return;
    }
    // A line inside one chunk (nearly all of them) is decoded in place, without a view of it first.
    let line = buf;
    let from = start;
    if (this.parts.length > 0) {
      this.parts.push(buf.subarray(start, end));
      line = Buffer.concat(this.parts, total);
      from = 0;
    }
    this.resetLine();
    if (!this.crIsTerminator && total > 0 && line[from + total - 1] === CR) total -= 1;
    this.onLine(line.toString('utf8', from, from + total), total);
  }

  private resetLine(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.oversized = false;
  }
}

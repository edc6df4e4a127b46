/**
 * Pulls a few top-level members (model, stream, stream_options) out of a JSON
 * request body as it streams past, in constant memory. Request bodies can be
 * many MiB (long conversations, inline images) and we need a handful of
 * bytes from them, so the body is never buffered or parsed whole: a small
 * state machine tracks nesting and strings, and only the raw text of a
 * wanted member's value (≤ REQUEST_FIELD_VALUE_MAX_BYTES) is kept and parsed.
 */
import { DEFAULT_REQUEST_SCAN_MAX_BYTES, REQUEST_FIELD_VALUE_MAX_BYTES } from './defaults';

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-bytes';

/** Keys longer than this cannot be one we want; their bytes are not kept. */
const KEY_MAX_BYTES = 32;

export class RequestFieldScanner {
  private readonly wanted: ReadonlySet<string>;
  private readonly maxScanBytes: number;
  private readonly values = new Map<string, unknown>();
  private scanned = 0;
  /** Gave up: not a JSON object, or past the scan limit. */
  private stopped = false;
  private started = false;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** At depth 1, the next string is a member name. */
  private expectKey = false;
  private keyBytes: number[] | null = null;
  private currentKey: string | null = null;
  /** Raw bytes of the wanted member's value being read. */
  private capture: number[] | null = null;
  private captureTooLong = false;

  constructor(wanted: readonly string[], maxScanBytes = DEFAULT_REQUEST_SCAN_MAX_BYTES) {
    this.wanted = new Set(wanted);
    this.maxScanBytes = maxScanBytes;
  }

  /** A top-level member's parsed value, if it was seen (whole) so far. */
  get(name: string): unknown {
    return this.values.get(name);
  }

  push(chunk: Uint8Array): void {
    if (this.stopped) return;
    const n = Math.min(chunk.length, this.maxScanBytes - this.scanned);
    this.scanned += n;
    for (let i = 0; i < n; i++) {
      if (this.inString && this.capture === null && this.keyBytes === null && !this.escape) {
        // Inside a string nobody keeps (most of a request body: the messages' text), only a quote
        // or a backslash changes anything: skip to the next one in a tight loop.
        while (i < n && chunk[i] !== QUOTE && chunk[i] !== BACKSLASH) i++;
        if (i === n) break;
      }
      const b = chunk[i]!;
      if (this.inString) {
        if (this.capture !== null) this.record(b);
        else if (this.keyBytes !== null && !this.escape && b !== QUOTE) {
          if (this.keyBytes.length < KEY_MAX_BYTES + 1) this.keyBytes.push(b);
        }
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.keyBytes !== null) {
            this.currentKey = this.keyBytes.length <= KEY_MAX_BYTES ? Buffer.from(this.keyBytes).toString('utf8') : null;
            this.keyBytes = null;
          }
        }
        continue;
      }
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
        if (this.capture !== null && this.depth > 1) this.record(b);
        continue;
      }
      if (!this.started) {
        this.started = true;
        // Skip a UTF-8 BOM's first byte handling: bodies with one are rare; anything but '{' stops the scan.
        if (b !== OPEN_BRACE) {
          this.stopped = true;
          return;
        }
        this.depth = 1;
        this.expectKey = true;
        continue;
      }
      if (this.depth === 1) {
        if (b === QUOTE && this.expectKey) {
          this.inString = true;
          this.keyBytes = [];
          this.expectKey = false;
          continue;
        }
        if (b === COLON) {
          if (this.currentKey !== null && this.wanted.has(this.currentKey)) {
            this.capture = [];
            this.captureTooLong = false;
          }
          continue;
        }
        if (b === COMMA || b === CLOSE_BRACE) {
          this.finishValue();
          this.expectKey = true;
          if (b === CLOSE_BRACE) {
            this.depth = 0;
            this.stopped = true;
            return;
          }
          continue;
        }
      }
      if (this.capture !== null) this.record(b);
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth += 1;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) this.depth -= 1;
    }
    if (this.scanned >= this.maxScanBytes) this.stopped = true;
  }

  private record(b: number): void {
    if (this.captureTooLong) return;
    if (this.capture!.length >= REQUEST_FIELD_VALUE_MAX_BYTES) {
      this.captureTooLong = true;
      return;
    }
    this.capture!.push(b);
  }

  private finishValue(): void {
    if (this.capture !== null && this.currentKey !== null && !this.captureTooLong) {
      try {
        this.values.set(this.currentKey, JSON.parse(Buffer.from(this.capture).toString('utf8')) as unknown);
      } catch {
        // A value we cannot read is the same as an absent one.
      }
    }
    this.capture = null;
    this.currentKey = null;
  }
}

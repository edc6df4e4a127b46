/**
 * Splits a JSON array that arrives over time (`[{…},\r\n{…}\r\n]`, how
 * Gemini's streamGenerateContent streams without ?alt=sse) into its
 * elements, handing each over parsed as soon as its closing brace arrives.
 * Only the element being read is held, up to maxElementBytes; a larger one
 * is skipped and counted, like an oversized SSE event. Scalars between
 * elements are not model output and are skipped.
 */
import { parseJson } from './json-access';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-bytes';

export interface JsonArrayParserOptions {
  maxElementBytes: number;
  onValue(value: unknown): void;
}

export interface JsonArrayParserStats {
  elements: number;
  oversizedElements: number;
  invalidElements: number;
  /** The closing bracket of the outer array arrived. */
  closed: boolean;
}

export class JsonArrayParser {
  readonly stats: JsonArrayParserStats = { elements: 0, oversizedElements: 0, invalidElements: 0, closed: false };
  /** Nesting depth: 0 before the outer "[", 1 between elements. */
  private depth = 0;
  private inString = false;
  private escape = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private oversized = false;
  /** Where in the current chunk the element being read started. */
  private elementStart = -1;

  constructor(private readonly options: JsonArrayParserOptions) {}

  push(chunk: Uint8Array): void {
    if (this.stats.closed) return;
    this.elementStart = this.depth >= 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) {
        if (this.depth >= 1) this.inString = true;
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        this.depth += 1;
        if (this.depth === 2) this.elementStart = i;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (this.depth === 1) {
          this.stats.closed = true;
          this.depth = 0;
          return;
        }
        this.depth -= 1;
        if (this.depth === 1) {
          this.keep(chunk.subarray(this.elementStart, i + 1));
          this.elementStart = -1;
          this.emit();
        }
      }
    }
    if (this.depth >= 2 && this.elementStart !== -1) this.keep(chunk.subarray(this.elementStart));
  }

  /** The stream ended; an element cut in the middle is dropped (it was never whole). */
  end(): void {
    this.parts = [];
    this.partBytes = 0;
  }

  private keep(bytes: Uint8Array): void {
    if (this.oversized) return;
    if (this.partBytes + bytes.byteLength > this.options.maxElementBytes) {
      this.oversized = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    // Copied: the caller may reuse its chunk buffer.
    this.parts.push(Buffer.from(bytes));
    this.partBytes += bytes.byteLength;
  }

  private emit(): void {
    const oversized = this.oversized;
    const text = oversized ? '' : Buffer.concat(this.parts, this.partBytes).toString('utf8');
    this.parts = [];
    this.partBytes = 0;
    this.oversized = false;
    if (oversized) {
      this.stats.oversizedElements += 1;
      return;
    }
    const parsed = parseJson(text);
    if (!parsed.ok) {
      this.stats.invalidElements += 1;
      return;
    }
    this.stats.elements += 1;
    this.options.onValue(parsed.value);
  }
}

/**
 * Incremental newline-delimited JSON (application/x-ndjson, as Ollama
 * streams). One JSON value per LF-terminated line; a CR before the LF and
 * blank lines are tolerated; a last line without LF is parsed at end().
 * Lines over maxLineBytes are counted and skipped without being buffered.
 */
import { LineSplitter } from './line-splitter';
import { parseJson } from './json-access';

export interface NdjsonParserOptions {
  maxLineBytes: number;
  onValue(value: unknown): void;
}

export interface NdjsonParserStats {
  /** Values passed to onValue. */
  values: number;
  /** Lines that were not valid JSON. */
  invalidLines: number;
  /** Lines longer than maxLineBytes, skipped. */
  oversizedLines: number;
  bytes: number;
}

export class NdjsonParser {
  private readonly splitter: LineSplitter;
  private readonly onValue: (value: unknown) => void;
  private ended = false;
  readonly stats: NdjsonParserStats = { values: 0, invalidLines: 0, oversizedLines: 0, bytes: 0 };

  constructor(options: NdjsonParserOptions) {
    this.onValue = options.onValue;
    this.splitter = new LineSplitter({
      maxLineBytes: options.maxLineBytes,
      crIsTerminator: false,
      onLine: (line) => this.handleLine(line),
      onOversizedLine: () => {
        this.stats.oversizedLines += 1;
      },
    });
  }

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    this.stats.bytes += chunk.byteLength;
    this.splitter.push(chunk);
  }

  end(): void {
    if (this.ended) return;
    this.splitter.end();
    this.ended = true;
  }

  private handleLine(line: string): void {
    if (line.trim() === '') return;
    const parsed = parseJson(line);
    if (!parsed.ok) {
      this.stats.invalidLines += 1;
      return;
    }
    this.stats.values += 1;
    this.onValue(parsed.value);
  }
}

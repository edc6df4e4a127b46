/**
 * Incremental parser for text/event-stream bodies, following the WHATWG
 * "event stream interpretation" rules: lines end in CRLF, LF or CR; a blank
 * line dispatches the event; `data:` lines are joined with "\n"; `event:`
 * sets the type; `id:` the last event id; `retry:` and unknown fields are
 * ignored; lines starting with ':' are comments; one leading space after the
 * colon is dropped; a leading BOM is skipped.
 *
 * One deliberate difference: the spec discards an event that is not followed
 * by a blank line when the stream ends. Providers and proxies do end streams
 * that way (mnfst/llm-gateway#1567), and such a last event often carries the
 * usage, so end() dispatches it.
 *
 * Memory is bounded by maxEventBytes: an event whose lines add up to more is
 * counted in oversizedEvents and skipped, never buffered.
 */
import { LineSplitter } from './line-splitter';

export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  type: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id seen so far ("" when none), as the spec defines it. */
  lastEventId: string;
}

export interface SseParserOptions {
  /** Largest event kept: all its field lines, in bytes. */
  maxEventBytes: number;
  onEvent(event: SseEvent): void;
}

export interface SseParserStats {
  /** Events dispatched to onEvent. */
  events: number;
  /** Events skipped because they exceeded maxEventBytes. */
  oversizedEvents: number;
  /** Bytes pushed. */
  bytes: number;
}

export class SseParser {
  private readonly splitter: LineSplitter;
  private readonly maxEventBytes: number;
  private readonly onEvent: (event: SseEvent) => void;
  private firstLine = true;
  private eventType = '';
  private dataLines: string[] = [];
  private hasData = false;
  private eventBytes = 0;
  private eventOversized = false;
  private lastEventId = '';
  private ended = false;
  readonly stats: SseParserStats = { events: 0, oversizedEvents: 0, bytes: 0 };

  constructor(options: SseParserOptions) {
    this.maxEventBytes = options.maxEventBytes;
    this.onEvent = options.onEvent;
    this.splitter = new LineSplitter({
      maxLineBytes: options.maxEventBytes,
      crIsTerminator: true,
      onLine: (line, byteLength) => this.handleLine(line, byteLength),
      onOversizedLine: () => {
        this.firstLine = false;
        this.markOversized();
      },
    });
  }

  push(chunk: Uint8Array): void {
    if (this.ended) return;
    this.stats.bytes += chunk.byteLength;
    this.splitter.push(chunk);
  }

  /** The stream is over: flush a last line without terminator and a last event without blank line. */
  end(): void {
    if (this.ended) return;
    this.splitter.end();
    this.dispatch();
    this.ended = true;
  }

  private handleLine(rawLine: string, byteLength: number): void {
    let line = rawLine;
    if (this.firstLine) {
      this.firstLine = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ':' comment */) return;
    this.eventBytes += byteLength + 1;
    if (this.eventBytes > this.maxEventBytes) this.markOversized();
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.hasData = true;
        if (!this.eventOversized) this.dataLines.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (value.indexOf('\u0000') === -1) this.lastEventId = value;
        break;
      default:
        // `retry:` only matters to a reconnecting client; unknown fields are ignored by spec.
        break;
    }
  }

  private markOversized(): void {
    this.eventOversized = true;
    this.dataLines = [];
  }

  private dispatch(): void {
    const oversized = this.eventOversized;
    const hasData = this.hasData;
    const type = this.eventType;
    const data = this.dataLines.length === 1 ? this.dataLines[0]! : this.dataLines.join('\n');
    this.eventType = '';
    this.dataLines = [];
    this.hasData = false;
    this.eventBytes = 0;
    this.eventOversized = false;
    if (oversized) {
      this.stats.oversizedEvents += 1;
      return;
    }
    // Spec: an event with no data lines is not dispatched.
    if (!hasData) return;
    this.stats.events += 1;
    this.onEvent({ type: type === '' ? 'message' : type, data, lastEventId: this.lastEventId });
  }
}

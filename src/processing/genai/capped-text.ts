/**
 * Text accumulated from many small deltas, kept up to a byte budget and cut
 * on a character boundary; past the budget only the byte count grows. This
 * is what keeps folded state bounded however long the stream runs.
 */

/** The longest prefix of s whose UTF-8 encoding fits in maxBytes, never splitting a surrogate pair. */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  // Fast path: every UTF-16 unit is at most 3 UTF-8 bytes (a pair is 4 bytes for 2 units).
  if (s.length * 3 <= maxBytes) return s;
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let width: number;
    let units = 1;
    if (c < 0x80) width = 1;
    else if (c < 0x800) width = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        width = 4;
        units = 2;
      } else width = 3;
    } else width = 3;
    if (bytes + width > maxBytes) break;
    bytes += width;
    i += units;
  }
  return s.slice(0, i);
}

export class CappedText {
  private readonly maxBytes: number;
  private parts: string[] = [];
  private keptBytes = 0;
  private seenBytes = 0;
  private cut = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  append(s: string): void {
    if (s.length === 0) return;
    const len = Buffer.byteLength(s, 'utf8');
    this.seenBytes += len;
    if (this.cut) return;
    if (this.keptBytes + len <= this.maxBytes) {
      this.parts.push(s);
      this.keptBytes += len;
      // Collapse now and then so a stream of one-token deltas does not build a huge array.
      if (this.parts.length >= 256) this.parts = [this.parts.join('')];
      return;
    }
    const head = utf8Prefix(s, this.maxBytes - this.keptBytes);
    if (head.length > 0) {
      this.parts.push(head);
      this.keptBytes += Buffer.byteLength(head, 'utf8');
    }
    this.cut = true;
  }

  /** Replaces the content (used when a final message restates what the deltas built). */
  reset(): void {
    this.parts = [];
    this.keptBytes = 0;
    this.seenBytes = 0;
    this.cut = false;
  }

  get text(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  /** True when bytes were dropped to stay within the budget. */
  get truncated(): boolean {
    return this.cut;
  }

  /** UTF-8 bytes appended in total, kept or not. */
  get totalBytes(): number {
    return this.seenBytes;
  }

  get isEmpty(): boolean {
    return this.seenBytes === 0;
  }
}

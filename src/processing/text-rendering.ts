/**
 * Turning wire bytes into the strings stored in ClickHouse.
 *
 * JSONEachRow carries Unicode text, so bytes that are not UTF-8 cannot be
 * stored as they are. Header values with such bytes are kept readable with
 * \xNN escapes; bodies that are not UTF-8 are stored base64-encoded and the
 * row says so (BodyNote), rather than being silently mangled.
 */
import { isUtf8 } from 'node:buffer';

/** A header value delivered as latin1 (one char per wire byte) rendered as text. */
export function renderHeaderValue(latin1: string): string {
  // Fast path: plain ASCII, the overwhelmingly common case.
  let ascii = true;
  for (let i = 0; i < latin1.length; i++) {
    if (latin1.charCodeAt(i) > 0x7e || latin1.charCodeAt(i) < 0x20) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  // Control characters are exactly what this rendering must find (they become \xNN escapes).
  // eslint-disable-next-line no-control-regex
  if (isUtf8(bytes) && !/[\x00-\x08\x0a-\x1f\x7f]/.test(latin1)) return bytes.toString('utf8');
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * Largest length <= maxBytes that does not split a UTF-8 sequence. Assumes
 * `bytes` is valid UTF-8 up to `maxBytes` (a cut inside the last sequence is
 * what this avoids).
 */
export function utf8CutLength(bytes: Uint8Array, maxBytes: number): number {
  if (bytes.length <= maxBytes) return bytes.length;
  let cut = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence that crosses the cut.
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut -= 1;
  return cut;
}

/**
 * True when `bytes` is UTF-8 text, allowing a sequence cut off at the very
 * end (the capture cap can land inside one).
 */
export function isUtf8Prefix(bytes: Uint8Array): boolean {
  if (isUtf8(bytes)) return true;
  // Find the start of the last sequence; only it may be incomplete.
  let start = bytes.length - 1;
  while (start > 0 && bytes.length - start < 4 && (bytes[start]! & 0xc0) === 0x80) start -= 1;
  const lead = bytes[start]!;
  const expected = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  const present = bytes.length - start;
  if (expected === 0 || present >= expected) return false;
  return isUtf8(bytes.subarray(0, start));
}

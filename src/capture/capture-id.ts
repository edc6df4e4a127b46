/**
 * Time-ordered unique ids (UUID version 7 layout: 48-bit Unix milliseconds,
 * then random bits), so CaptureId sorts by capture time and is unique across
 * instances without coordination. Random bytes are drawn in blocks to keep
 * the per-exchange cost to a few array reads.
 */
import { randomFillSync } from 'node:crypto';

const BLOCK_IDS = 256;
const random = new Uint8Array(BLOCK_IDS * 10);
let offset = random.length;
const HEX: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function newCaptureId(nowMs: number = Date.now()): string {
  if (offset >= random.length) {
    randomFillSync(random);
    offset = 0;
  }
  const r = random;
  const o = offset;
  offset += 10;
  let ts = '';
  let remaining = nowMs;
  const timeBytes: number[] = new Array(6);
  for (let i = 5; i >= 0; i--) {
    timeBytes[i] = remaining % 256;
    remaining = Math.floor(remaining / 256);
  }
  for (const byte of timeBytes) ts += HEX[byte];
  const version = HEX[0x70 | (r[o]! & 0x0f)];
  const variant = HEX[0x80 | (r[o + 2]! & 0x3f)];
  return (
    `${ts.slice(0, 8)}-${ts.slice(8, 12)}-${version}${HEX[r[o + 1]!]}-${variant}${HEX[r[o + 3]!]}-` +
    `${HEX[r[o + 4]!]}${HEX[r[o + 5]!]}${HEX[r[o + 6]!]}${HEX[r[o + 7]!]}${HEX[r[o + 8]!]}${HEX[r[o + 9]!]}`
  );
}

/**
 * Helpers that feed the same bytes to a parser in every way worth trying, so
 * tests can prove the result does not depend on where the wire cut them.
 */

/** Every split of bytes into two pieces, plus one-byte-at-a-time, plus whole. */
export function* twoWaySplits(bytes: Uint8Array): Generator<Uint8Array[]> {
  yield [bytes];
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

/** Deterministic pseudo-random splits into pieces of 1..maxPiece bytes. */
export function* randomSplits(bytes: Uint8Array, runs: number, maxPiece: number, seed = 1): Generator<Uint8Array[]> {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: reproducible without a dependency.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  for (let r = 0; r < runs; r++) {
    const pieces: Uint8Array[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      const len = 1 + (next() % maxPiece);
      pieces.push(bytes.subarray(pos, pos + len));
      pos += len;
    }
    yield pieces;
  }
}

export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

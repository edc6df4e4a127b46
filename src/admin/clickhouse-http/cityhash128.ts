/**
 * CityHash128 as ClickHouse computes it: CityHash v1.0.2, which ClickHouse
 * froze for the checksums of its compressed blocks (later CityHash releases
 * changed the output, so a current CityHash library gives other values). No
 * npm package implements this version; it is small, and the unit test pins
 * it to values from the hash ClickHouse's Go driver checks blocks with.
 *
 * 64-bit arithmetic in BigInt, truncated after every operation that can
 * overflow (BigInt.asUintN), reading the input through a DataView.
 */

const M = 64;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;
const K3 = 0xc949d7c7509e6557n;
const KMUL = 0x9ddfea08eb382d69n;

export interface Hash128 {
  low: bigint;
  high: bigint;
}

const u64 = (x: bigint): bigint => BigInt.asUintN(M, x);
const mul = (a: bigint, b: bigint): bigint => BigInt.asUintN(M, a * b);
const rotate = (v: bigint, shift: bigint): bigint => (shift === 0n ? v : u64((v >> shift) | (v << (64n - shift))));
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

function hashLen16(u: bigint, v: bigint): bigint {
  let a = mul(u ^ v, KMUL);
  a ^= a >> 47n;
  let b = mul(v ^ a, KMUL);
  b ^= b >> 47n;
  return mul(b, KMUL);
}

class Input {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  fetch64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }
  fetch32(at: number): bigint {
    return BigInt(this.view.getUint32(at, true));
  }
}

function hashLen0to16(s: Input, at: number, len: number): bigint {
  const n = BigInt(len);
  if (len > 8) {
    const a = s.fetch64(at);
    const b = s.fetch64(at + len - 8);
    // RotateByAtLeast1: len is 9..16 here, never 0.
    return hashLen16(a, rotate(u64(b + n), n)) ^ b;
  }
  if (len >= 4) {
    const a = s.fetch32(at);
    return hashLen16(u64(n + (a << 3n)), s.fetch32(at + len - 4));
  }
  if (len > 0) {
    const a = BigInt(s.bytes[at]!);
    const b = BigInt(s.bytes[at + (len >> 1)]!);
    const c = BigInt(s.bytes[at + len - 1]!);
    const y = a + (b << 8n);
    const z = n + (c << 2n);
    return mul(shiftMix(mul(y, K2) ^ mul(z, K3)), K2);
  }
  return K2;
}

/** WeakHashLen32WithSeeds over the 32 bytes at `at`. */
function weak32(s: Input, at: number, seedA: bigint, seedB: bigint): [bigint, bigint] {
  const w = s.fetch64(at);
  const x = s.fetch64(at + 8);
  const y = s.fetch64(at + 16);
  const z = s.fetch64(at + 24);
  let a = u64(seedA + w);
  let b = rotate(u64(seedB + a + z), 21n);
  const c = a;
  a = u64(a + x + y);
  b = u64(b + rotate(a, 44n));
  return [u64(a + z), u64(b + c)];
}

function cityMurmur(s: Input, at: number, len: number, seed: Hash128): Hash128 {
  let a = seed.low;
  let b = seed.high;
  let c: bigint;
  let d: bigint;
  let l = len - 16;
  if (l <= 0) {
    a = mul(shiftMix(mul(a, K1)), K1);
    c = u64(mul(b, K1) + hashLen0to16(s, at, len));
    d = shiftMix(u64(a + (len >= 8 ? s.fetch64(at) : c)));
  } else {
    c = hashLen16(u64(s.fetch64(at + len - 8) + K1), a);
    d = hashLen16(u64(b + BigInt(len)), u64(c + s.fetch64(at + len - 16)));
    a = u64(a + d);
    let p = at;
    do {
      a ^= mul(shiftMix(mul(s.fetch64(p), K1)), K1);
      a = mul(a, K1);
      b ^= a;
      c ^= mul(shiftMix(mul(s.fetch64(p + 8), K1)), K1);
      c = mul(c, K1);
      d ^= c;
      p += 16;
      l -= 16;
    } while (l > 0);
  }
  a = hashLen16(a, c);
  b = hashLen16(d, b);
  return { low: a ^ b, high: hashLen16(b, a) };
}

function cityHash128WithSeed(s: Input, start: number, seed: Hash128): Hash128 {
  let len = s.length - start;
  if (len < 128) return cityMurmur(s, start, len, seed);
  const end = s.length;
  let x = seed.low;
  let y = seed.high;
  let z = mul(BigInt(len), K1);
  let v0 = u64(mul(rotate(y ^ K1, 49n), K1) + s.fetch64(start));
  let v1 = u64(mul(rotate(v0, 42n), K1) + s.fetch64(start + 8));
  let w0 = u64(mul(rotate(u64(y + z), 35n), K1) + x);
  let w1 = mul(rotate(u64(x + s.fetch64(start + 88)), 53n), K1);
  let p = start;
  do {
    for (let half = 0; half < 2; half++) {
      x = mul(rotate(u64(x + y + v0 + s.fetch64(p + 16)), 37n), K1);
      y = mul(rotate(u64(y + v1 + s.fetch64(p + 48)), 42n), K1);
      x ^= w1;
      y ^= v0;
      z = rotate(z ^ w0, 33n);
      [v0, v1] = weak32(s, p, mul(v1, K1), u64(x + w0));
      [w0, w1] = weak32(s, p + 32, u64(z + w1), y);
      [z, x] = [x, z];
      p += 64;
    }
    len -= 128;
  } while (len >= 128);
  y = u64(y + mul(rotate(w0, 37n), K0) + z);
  x = u64(x + mul(rotate(u64(v0 + z), 49n), K0));
  // Up to four 32-byte chunks counted back from the end of the input.
  for (let done = 0; done < len; ) {
    done += 32;
    y = u64(mul(rotate(u64(y - x), 42n), K0) + v1);
    w0 = u64(w0 + s.fetch64(end - done + 16));
    x = u64(mul(rotate(x, 49n), K0) + w0);
    w0 = u64(w0 + v0);
    [v0, v1] = weak32(s, end - done, v0, v1);
  }
  x = hashLen16(x, v0);
  y = hashLen16(y, w0);
  return { low: u64(hashLen16(u64(x + v1), w1) + y), high: hashLen16(u64(x + w1), u64(y + v1)) };
}

export function cityHash128(bytes: Uint8Array): Hash128 {
  const s = new Input(bytes);
  const len = bytes.length;
  if (len >= 16) return cityHash128WithSeed(s, 16, { low: s.fetch64(0) ^ K3, high: s.fetch64(8) });
  if (len >= 8) {
    const empty = new Input(new Uint8Array(0));
    return cityHash128WithSeed(empty, 0, { low: s.fetch64(0) ^ mul(BigInt(len), K0), high: s.fetch64(len - 8) ^ K1 });
  }
  return cityHash128WithSeed(s, 0, { low: K0, high: K1 });
}

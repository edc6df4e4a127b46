/**
 * CityHash128 as ClickHouse computes it: CityHash v1.0.2, which ClickHouse
 * froze for the checksums of its compressed blocks (later CityHash releases
 * changed the output, so a current CityHash library gives other values). No
 * npm package implements this version; it is small, and the unit test pins
 * it to values from the hash ClickHouse's Go driver checks blocks with.
 *
 * The 64-bit words are pairs of 32-bit halves in plain numbers: BigInt
 * arithmetic allocates on every operation and hashed about 15 MB/s, this
 * several times that, and the hash runs on every compressed block of an
 * answer or a request. Each operation leaves its result in the registers
 * `H` (high half) and `L` (low half).
 */

export interface Hash128 {
  low: bigint;
  high: bigint;
}

// k0..k3 and kMul of CityHash v1.0.2, as [high, low].
const K0H = 0xc3a5c85c;
const K0L = 0x97cb3127;
const K1H = 0xb492b66f;
const K1L = 0xbe98f273;
const K2H = 0x9ae16a3b;
const K2L = 0x2f90404f;
const K3H = 0xc949d7c7;
const K3L = 0x509e6557;
const KMH = 0x9ddfea08;
const KML = 0xeb382d69;

let H = 0;
let L = 0;

/** (H, L) = low 64 bits of a × b. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  L = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  H = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (H, L) = a + b. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl;
  L = low >>> 0;
  H = (ah + bh + (low > 0xffffffff ? 1 : 0)) >>> 0;
}

/** (H, L) = a − b. */
function sub(ah: number, al: number, bh: number, bl: number): void {
  const low = al - bl;
  L = low >>> 0;
  H = (ah - bh - (low < 0 ? 1 : 0)) >>> 0;
}

/** (H, L) = a rotated right by `s` (0 < s < 64). */
function rotate(h: number, l: number, s: number): void {
  if (s >= 32) {
    const t = h;
    h = l;
    l = t;
    s -= 32;
  }
  if (s === 0) {
    H = h;
    L = l;
    return;
  }
  L = ((l >>> s) | (h << (32 - s))) >>> 0;
  H = ((h >>> s) | (l << (32 - s))) >>> 0;
}

/** (H, L) = v ^ (v >> 47). */
function shiftMix(h: number, l: number): void {
  H = h;
  L = (l ^ (h >>> 15)) >>> 0;
}

/** HashLen16(u, v) = Hash128to64 of the pair. */
function hashLen16(uh: number, ul: number, vh: number, vl: number): void {
  mul((uh ^ vh) >>> 0, (ul ^ vl) >>> 0, KMH, KML);
  shiftMix(H, L);
  const ah = H;
  const al = L;
  mul((vh ^ ah) >>> 0, (vl ^ al) >>> 0, KMH, KML);
  shiftMix(H, L);
  mul(H, L, KMH, KML);
}

class Input {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  hi(at: number): number {
    return this.view.getUint32(at + 4, true);
  }
  lo(at: number): number {
    return this.view.getUint32(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
}

function hashLen0to16(s: Input, at: number, len: number): void {
  if (len > 8) {
    const ah = s.hi(at);
    const al = s.lo(at);
    const bh = s.hi(at + len - 8);
    const bl = s.lo(at + len - 8);
    add(bh, bl, 0, len);
    rotate(H, L, len);
    hashLen16(ah, al, H, L);
    H = (H ^ bh) >>> 0;
    L = (L ^ bl) >>> 0;
    return;
  }
  if (len >= 4) {
    const a = s.u32(at);
    // len + (a << 3), a being 32 bits wide
    add(a >>> 29, (a << 3) >>> 0, 0, len);
    hashLen16(H, L, 0, s.u32(at + len - 4));
    return;
  }
  if (len > 0) {
    const a = s.bytes[at]!;
    const b = s.bytes[at + (len >> 1)]!;
    const c = s.bytes[at + len - 1]!;
    const y = a + (b << 8);
    const z = len + (c << 2);
    mul(0, y, K2H, K2L);
    const yh = H;
    const yl = L;
    mul(0, z, K3H, K3L);
    shiftMix((yh ^ H) >>> 0, (yl ^ L) >>> 0);
    mul(H, L, K2H, K2L);
    return;
  }
  H = K2H;
  L = K2L;
}

// WeakHashLen32WithSeeds' result pair.
let W0H = 0;
let W0L = 0;
let W1H = 0;
let W1L = 0;

/** (W0, W1) = WeakHashLen32WithSeeds over the 32 bytes at `at` with seeds a, b. */
function weak32(s: Input, at: number, ah: number, al: number, bh: number, bl: number): void {
  const zh = s.hi(at + 24);
  const zl = s.lo(at + 24);
  add(ah, al, s.hi(at), s.lo(at));
  ah = H;
  al = L;
  add(bh, bl, ah, al);
  add(H, L, zh, zl);
  rotate(H, L, 21);
  bh = H;
  bl = L;
  const ch = ah;
  const cl = al;
  add(ah, al, s.hi(at + 8), s.lo(at + 8));
  add(H, L, s.hi(at + 16), s.lo(at + 16));
  ah = H;
  al = L;
  rotate(ah, al, 44);
  add(bh, bl, H, L);
  bh = H;
  bl = L;
  add(ah, al, zh, zl);
  W0H = H;
  W0L = L;
  add(bh, bl, ch, cl);
  W1H = H;
  W1L = L;
}

function cityMurmur(s: Input, at: number, len: number, seedH: number, seedL: number, seed2H: number, seed2L: number): Hash128 {
  let ah = seedH;
  let al = seedL;
  let bh = seed2H;
  let bl = seed2L;
  let ch: number;
  let cl: number;
  let dh: number;
  let dl: number;
  let l = len - 16;
  if (l <= 0) {
    mul(ah, al, K1H, K1L);
    shiftMix(H, L);
    mul(H, L, K1H, K1L);
    ah = H;
    al = L;
    hashLen0to16(s, at, len);
    const xh = H;
    const xl = L;
    mul(bh, bl, K1H, K1L);
    add(H, L, xh, xl);
    ch = H;
    cl = L;
    if (len >= 8) add(ah, al, s.hi(at), s.lo(at));
    else add(ah, al, ch, cl);
    shiftMix(H, L);
    dh = H;
    dl = L;
  } else {
    add(s.hi(at + len - 8), s.lo(at + len - 8), K1H, K1L);
    hashLen16(H, L, ah, al);
    ch = H;
    cl = L;
    add(ch, cl, s.hi(at + len - 16), s.lo(at + len - 16));
    const th = H;
    const tl = L;
    add(bh, bl, 0, len);
    hashLen16(H, L, th, tl);
    dh = H;
    dl = L;
    add(ah, al, dh, dl);
    ah = H;
    al = L;
    let p = at;
    do {
      mul(s.hi(p), s.lo(p), K1H, K1L);
      shiftMix(H, L);
      mul(H, L, K1H, K1L);
      mul((ah ^ H) >>> 0, (al ^ L) >>> 0, K1H, K1L);
      ah = H;
      al = L;
      bh = (bh ^ ah) >>> 0;
      bl = (bl ^ al) >>> 0;
      mul(s.hi(p + 8), s.lo(p + 8), K1H, K1L);
      shiftMix(H, L);
      mul(H, L, K1H, K1L);
      mul((ch ^ H) >>> 0, (cl ^ L) >>> 0, K1H, K1L);
      ch = H;
      cl = L;
      dh = (dh ^ ch) >>> 0;
      dl = (dl ^ cl) >>> 0;
      p += 16;
      l -= 16;
    } while (l > 0);
  }
  hashLen16(ah, al, ch, cl);
  ah = H;
  al = L;
  hashLen16(dh, dl, bh, bl);
  bh = H;
  bl = L;
  hashLen16(bh, bl, ah, al);
  return { low: pack((ah ^ bh) >>> 0, (al ^ bl) >>> 0), high: pack(H, L) };
}

function pack(h: number, l: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l);
}

function cityHash128WithSeed(s: Input, start: number, seedH: number, seedL: number, seed2H: number, seed2L: number): Hash128 {
  let len = s.length - start;
  if (len < 128) return cityMurmur(s, start, len, seedH, seedL, seed2H, seed2L);
  const end = s.length;
  let xh = seedH;
  let xl = seedL;
  let yh = seed2H;
  let yl = seed2L;
  mul(0, len, K1H, K1L);
  let zh = H;
  let zl = L;
  // v.first = Rotate(y ^ k1, 49) * k1 + Fetch64(s)
  rotate((yh ^ K1H) >>> 0, (yl ^ K1L) >>> 0, 49);
  mul(H, L, K1H, K1L);
  add(H, L, s.hi(start), s.lo(start));
  let v0h = H;
  let v0l = L;
  // v.second = Rotate(v.first, 42) * k1 + Fetch64(s + 8)
  rotate(v0h, v0l, 42);
  mul(H, L, K1H, K1L);
  add(H, L, s.hi(start + 8), s.lo(start + 8));
  let v1h = H;
  let v1l = L;
  // w.first = Rotate(y + z, 35) * k1 + x
  add(yh, yl, zh, zl);
  rotate(H, L, 35);
  mul(H, L, K1H, K1L);
  add(H, L, xh, xl);
  let w0h = H;
  let w0l = L;
  // w.second = Rotate(x + Fetch64(s + 88), 53) * k1
  add(xh, xl, s.hi(start + 88), s.lo(start + 88));
  rotate(H, L, 53);
  mul(H, L, K1H, K1L);
  let w1h = H;
  let w1l = L;
  let p = start;
  do {
    for (let half = 0; half < 2; half++) {
      // x = Rotate(x + y + v.first + Fetch64(s + 16), 37) * k1
      add(xh, xl, yh, yl);
      add(H, L, v0h, v0l);
      add(H, L, s.hi(p + 16), s.lo(p + 16));
      rotate(H, L, 37);
      mul(H, L, K1H, K1L);
      xh = H;
      xl = L;
      // y = Rotate(y + v.second + Fetch64(s + 48), 42) * k1
      add(yh, yl, v1h, v1l);
      add(H, L, s.hi(p + 48), s.lo(p + 48));
      rotate(H, L, 42);
      mul(H, L, K1H, K1L);
      yh = H;
      yl = L;
      xh = (xh ^ w1h) >>> 0;
      xl = (xl ^ w1l) >>> 0;
      yh = (yh ^ v0h) >>> 0;
      yl = (yl ^ v0l) >>> 0;
      // z = Rotate(z ^ w.first, 33)
      rotate((zh ^ w0h) >>> 0, (zl ^ w0l) >>> 0, 33);
      zh = H;
      zl = L;
      // v = WeakHashLen32WithSeeds(s, v.second * k1, x + w.first)
      mul(v1h, v1l, K1H, K1L);
      const sah = H;
      const sal = L;
      add(xh, xl, w0h, w0l);
      weak32(s, p, sah, sal, H, L);
      v0h = W0H;
      v0l = W0L;
      v1h = W1H;
      v1l = W1L;
      // w = WeakHashLen32WithSeeds(s + 32, z + w.second, y)
      add(zh, zl, w1h, w1l);
      weak32(s, p + 32, H, L, yh, yl);
      w0h = W0H;
      w0l = W0L;
      w1h = W1H;
      w1l = W1L;
      // swap(z, x)
      const th = zh;
      const tl = zl;
      zh = xh;
      zl = xl;
      xh = th;
      xl = tl;
      p += 64;
    }
    len -= 128;
  } while (len >= 128);
  // y += Rotate(w.first, 37) * k0 + z
  rotate(w0h, w0l, 37);
  mul(H, L, K0H, K0L);
  add(H, L, zh, zl);
  add(yh, yl, H, L);
  yh = H;
  yl = L;
  // x += Rotate(v.first + z, 49) * k0
  add(v0h, v0l, zh, zl);
  rotate(H, L, 49);
  mul(H, L, K0H, K0L);
  add(xh, xl, H, L);
  xh = H;
  xl = L;
  // Up to four 32-byte chunks counted back from the end of the input.
  for (let done = 0; done < len;) {
    done += 32;
    // y = Rotate(y - x, 42) * k0 + v.second
    sub(yh, yl, xh, xl);
    rotate(H, L, 42);
    mul(H, L, K0H, K0L);
    add(H, L, v1h, v1l);
    yh = H;
    yl = L;
    // w.first += Fetch64(s + len - tail_done + 16)
    add(w0h, w0l, s.hi(end - done + 16), s.lo(end - done + 16));
    w0h = H;
    w0l = L;
    // x = Rotate(x, 49) * k0 + w.first
    rotate(xh, xl, 49);
    mul(H, L, K0H, K0L);
    add(H, L, w0h, w0l);
    xh = H;
    xl = L;
    // w.first += v.first
    add(w0h, w0l, v0h, v0l);
    w0h = H;
    w0l = L;
    // v = WeakHashLen32WithSeeds(s + len - tail_done, v.first, v.second)
    weak32(s, end - done, v0h, v0l, v1h, v1l);
    v0h = W0H;
    v0l = W0L;
    v1h = W1H;
    v1l = W1L;
  }
  // x = HashLen16(x, v.first); y = HashLen16(y, w.first)
  hashLen16(xh, xl, v0h, v0l);
  xh = H;
  xl = L;
  hashLen16(yh, yl, w0h, w0l);
  yh = H;
  yl = L;
  // low = HashLen16(x + v.second, w.second) + y; high = HashLen16(x + w.second, y + v.second)
  add(xh, xl, v1h, v1l);
  hashLen16(H, L, w1h, w1l);
  add(H, L, yh, yl);
  const lowH = H;
  const lowL = L;
  add(yh, yl, v1h, v1l);
  const th = H;
  const tl = L;
  add(xh, xl, w1h, w1l);
  hashLen16(H, L, th, tl);
  return { low: pack(lowH, lowL), high: pack(H, L) };
}

export function cityHash128(bytes: Uint8Array): Hash128 {
  const s = new Input(bytes);
  const len = bytes.length;
  if (len >= 16) return cityHash128WithSeed(s, 16, (s.hi(0) ^ K3H) >>> 0, (s.lo(0) ^ K3L) >>> 0, s.hi(8), s.lo(8));
  if (len >= 8) {
    mul(0, len, K0H, K0L);
    const seedH = (s.hi(0) ^ H) >>> 0;
    const seedL = (s.lo(0) ^ L) >>> 0;
    return cityHash128WithSeed(new Input(new Uint8Array(0)), 0, seedH, seedL, (s.hi(len - 8) ^ K1H) >>> 0, (s.lo(len - 8) ^ K1L) >>> 0);
  }
  return cityHash128WithSeed(s, 0, K0H, K0L, K1H, K1L);
}

/**
 * Keeps the first `capBytes` of one direction's body and counts the rest.
 *
 * Memory per stream is O(capBytes) whatever the body size: bytes past the cap
 * are counted, never stored. The store is a Uint8Array with its own
 * ArrayBuffer (never a pooled Buffer slice), grown by doubling up to the cap,
 * so that it can be transferred to a worker thread without copying and
 * without detaching memory anyone else uses.
 */
const INITIAL_CAPACITY_BYTES = 4096;

export class BodyCollector {
  private store: Uint8Array | undefined;
  private used = 0;
  /** Every body byte seen on the wire, kept or not. */
  totalBytes = 0;
  /** Number of body messages. */
  chunks = 0;

  constructor(private readonly capBytes: number) {}

  /** Records one body message; copies at most what still fits under the cap. */
  push(chunk: Uint8Array, keep: boolean): void {
    this.chunks += 1;
    this.totalBytes += chunk.length;
    if (!keep) return;
    const room = this.capBytes - this.used;
    if (room <= 0 || chunk.length === 0) return;
    const take = chunk.length < room ? chunk.length : room;
    this.ensureCapacity(this.used + take);
    this.store!.set(take === chunk.length ? chunk : chunk.subarray(0, take), this.used);
    this.used += take;
  }

  /** True when bytes were seen that did not fit under the cap. */
  get overCap(): boolean {
    return this.totalBytes > this.used && this.used >= this.capBytes;
  }

  get keptBytes(): number {
    return this.used;
  }

  /**
   * Hands the kept bytes over (a view on a private ArrayBuffer, safe to
   * transfer) and forgets them.
   */
  take(): Uint8Array | undefined {
    if (this.store === undefined || this.used === 0) return undefined;
    const view = this.store.subarray(0, this.used);
    this.store = undefined;
    return view;
  }

  private ensureCapacity(needed: number): void {
    const current = this.store?.length ?? 0;
    if (needed <= current) return;
    let capacity = Math.max(current * 2, INITIAL_CAPACITY_BYTES);
    while (capacity < needed) capacity *= 2;
    if (capacity > this.capBytes) capacity = this.capBytes;
    const grown = new Uint8Array(capacity);
    if (this.store !== undefined) grown.set(this.store.subarray(0, this.used));
    this.store = grown;
  }
}

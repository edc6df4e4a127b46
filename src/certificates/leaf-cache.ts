/**
 * Minted leaves by (CA, requested name), least recently used out past
 * `maxEntries`. A Map keeps insertion order, so a hit re-inserts its entry
 * and eviction takes the first key: O(1) both ways.
 *
 * An entry keeps only what a response needs: the encoded Secret (chain and
 * key PEM inside), its version and when it must be renewed. The key lives in
 * that encoding only, never as a KeyObject.
 */
import type { AnyMessage } from './sds-protocol';

export interface CachedLeaf {
  /** xDS resource version: the leaf's serial. */
  version: string;
  /** The Secret, encoded, named as requested. */
  resource: AnyMessage;
  /** From this time (ms) a new leaf is minted instead: 2/3 into the leaf's validity. */
  renewAt: number;
  notAfter: number;
}

export class LeafCache {
  private readonly entries = new Map<string, CachedLeaf>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached leaf if it exists and is not due for renewal at `now`. */
  get(caFingerprint: string, name: string, now: number): CachedLeaf | undefined {
    const key = cacheKey(caFingerprint, name);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (now >= entry.renewAt) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  set(caFingerprint: string, name: string, leaf: CachedLeaf): void {
    const key = cacheKey(caFingerprint, name);
    this.entries.delete(key);
    this.entries.set(key, leaf);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }
}

function cacheKey(caFingerprint: string, name: string): string {
  return `${caFingerprint}\n${name}`;
}

// Deterministic conflict resolution. When several inputs claim the same thing, the oldest
// creationTimestamp wins (a new resource never disrupts a working one), then namespace/name in
// lexical order. Resources without a timestamp count as newest: a manifest that has not been
// applied yet has not been running.
import { ObjectMeta } from '../gateway';

export function compareAge(a: ObjectMeta, b: ObjectMeta): number {
  const ta = a.creationTimestamp ? Date.parse(a.creationTimestamp) : Number.POSITIVE_INFINITY;
  const tb = b.creationTimestamp ? Date.parse(b.creationTimestamp) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.namespace ?? ''}/${a.name}`;
  const kb = `${b.namespace ?? ''}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export interface Contest<T> {
  winner: T;
  losers: T[];
}

/**
 * Group `items` by `keyOf` and order each group oldest first. Items within a group that are
 * identical by metadata (the same object given twice) are still distinct claims; the second
 * copy loses, which the caller reports.
 */
export function resolveContests<T>(items: T[], keyOf: (item: T) => string, metaOf: (item: T) => ObjectMeta): Map<string, Contest<T>> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const result = new Map<string, Contest<T>>();
  for (const [key, group] of groups) {
    // Array.prototype.sort is stable, so equal claims keep input order.
    const ordered = [...group].sort((a, b) => compareAge(metaOf(a), metaOf(b)));
    result.set(key, { winner: ordered[0], losers: ordered.slice(1) });
  }
  return result;
}

export function describeAge(meta: ObjectMeta): string {
  return meta.creationTimestamp ? `created ${meta.creationTimestamp}` : 'no creationTimestamp';
}

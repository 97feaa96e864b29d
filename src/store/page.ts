import type { Page } from './store.js';

/**
 * Newest-first page over items sorted by ascending id: those with id below `beforeId` (if given)
 * that `keep` accepts, at most `limit` (all when absent).
 * @returns the page and the id to continue below (`null` on the last page).
 */
export function pageNewestFirst<T>(
  sorted: readonly T[],
  idOf: (item: T) => string,
  keep: (item: T) => boolean,
  limit: number | undefined,
  beforeId: string | undefined,
): Page<T> {
  const page = pagePositions(
    sorted.length,
    (i) => idOf(sorted[i]!),
    (i) => keep(sorted[i]!),
    limit,
    beforeId,
  );
  return { data: page.data.map((i) => sorted[i]!), next: page.next };
}

/**
 * The same page over positions `0..count-1` of a columnar index sorted by ascending id (`idAt`):
 * positions newest first, so the caller reads only the page's bodies.
 */
export function pagePositions(
  count: number,
  idAt: (i: number) => string,
  keep: (i: number) => boolean,
  limit: number | undefined,
  beforeId: string | undefined,
): Page<number> {
  let i = count - 1;
  if (beforeId) {
    // Binary search for the first position whose id is >= beforeId, then step below it.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (idAt(mid) < beforeId) lo = mid + 1;
      else hi = mid;
    }
    i = lo - 1;
  }
  const max = limit ?? Infinity;
  const data: number[] = [];
  for (; i >= 0 && data.length < max; i--) if (keep(i)) data.push(i);
  let more = false;
  for (let j = i; j >= 0; j--) {
    if (keep(j)) {
      more = true;
      break;
    }
  }
  return { data, next: more && data.length > 0 ? idAt(data[data.length - 1]!) : null };
}

/** Freezes a stored value and everything in it, so readers cannot change what the store holds. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Oldest first by `created_at`, then id. */
export function byCreation<T extends { id: string; created_at: string }>(a: T, b: T): number {
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

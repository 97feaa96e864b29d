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
  let i = sorted.length - 1;
  if (beforeId) {
    // Binary search for the first index whose id is >= beforeId, then step below it.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (idOf(sorted[mid]!) < beforeId) lo = mid + 1;
      else hi = mid;
    }
    i = lo - 1;
  }
  const max = limit ?? Infinity;
  const data: T[] = [];
  for (; i >= 0 && data.length < max; i--) if (keep(sorted[i]!)) data.push(sorted[i]!);
  let more = false;
  for (let j = i; j >= 0; j--) {
    if (keep(sorted[j]!)) {
      more = true;
      break;
    }
  }
  return { data, next: more && data.length > 0 ? idOf(data[data.length - 1]!) : null };
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

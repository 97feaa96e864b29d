/** A page of a newest-first list: its items and the id to continue below (null on the last page). */
export interface Page<T> {
  data: T[];
  /** The last item's id when more items follow; callers encode it as their cursor. */
  next: string | null;
}

/**
 * Newest-first page over items sorted by ascending id: those with id below `beforeId` (if given)
 * that `keep` accepts, at most `limit`.
 */
export function pageNewestFirst<T>(sorted: readonly T[], idOf: (item: T) => string, keep: (item: T) => boolean, limit: number, beforeId: string | undefined): Page<T> {
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
  const data: T[] = [];
  for (; i >= 0 && data.length < limit; i--) if (keep(sorted[i]!)) data.push(sorted[i]!);
  let more = false;
  for (let j = i; j >= 0; j--) {
    if (keep(sorted[j]!)) {
      more = true;
      break;
    }
  }
  return { data, next: more && data.length > 0 ? idOf(data[data.length - 1]!) : null };
}

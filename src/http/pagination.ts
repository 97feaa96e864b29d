import { ApiError } from './errors.js';

/** The opaque cursor is the last returned id, base64url-encoded so clients do not build it. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** @throws ApiError 400 `invalid_cursor` when the cursor was not produced by this API. */
export function decodeCursor(cursor: string, prefix: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id.startsWith(`${prefix}_`)) throw new ApiError(400, 'invalid_cursor', 'cursor is not one this API returned');
  return id;
}

/**
 * Newest-first page over items sorted by ascending id: those with id below `beforeId` (if given).
 * @returns the page and the cursor of the next one (`null` on the last page).
 */
export function pageNewestFirst<T>(
  sorted: readonly T[],
  idOf: (item: T) => string,
  keep: (item: T) => boolean,
  limit: number,
  beforeId: string | undefined,
): { data: T[]; next_cursor: string | null } {
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
  return { data, next_cursor: more && data.length > 0 ? encodeCursor(idOf(data[data.length - 1]!)) : null };
}

import type { Page } from '../store/store.js';
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

/** The API's page shape of a store page: `{ data, next_cursor }`, the cursor opaque. */
export function apiPage<T, U = T>(page: Page<T>, map?: (item: T) => U): { data: U[]; next_cursor: string | null } {
  return { data: map ? page.data.map(map) : (page.data as unknown as U[]), next_cursor: page.next ? encodeCursor(page.next) : null };
}

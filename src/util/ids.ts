import { monotonicFactory } from 'ulidx';

const ulid = monotonicFactory();

/**
 * Prefixed, time-ordered ids (`evt_01J…`, `sub_…`, `dlv_…`, `att_…`): ULIDs sort by creation, so
 * lists page by id and events keep detection order.
 */
export function newId(prefix: 'evt' | 'sub' | 'dlv' | 'att' | 'aud' | 'key'): string {
  return `${prefix}_${ulid()}`;
}

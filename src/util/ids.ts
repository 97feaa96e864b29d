import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulidx';

/** Random bytes drawn 4 KiB at a time: ulidx's default asks the OS for one byte per character. */
const pool = new Uint8Array(4096);
let next = pool.length;
function randomUnit(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 0x100;
}

const ulid = monotonicFactory(randomUnit);

/**
 * Prefixed, time-ordered ids (`evt_01J…`, `sub_…`, `dlv_…`, `att_…`): ULIDs sort by creation, so
 * lists page by id and events keep detection order.
 */
export function newId(prefix: 'evt' | 'sub' | 'dlv' | 'att' | 'aud' | 'key'): string {
  return `${prefix}_${ulid()}`;
}

/** One recorded write: how to put its entity back. Opaque to the store; handed back to `UndoLog`. */
export interface UndoEntry {
  readonly key: string;
}

interface Entry extends UndoEntry {
  /** The value to restore: the entity's value before this write, or before an earlier write undone since. */
  before: unknown;
  restore: (before: unknown) => void;
  /** The previous and next unsettled writes of the same entity. */
  prev?: Entry;
  next?: Entry;
  /** Durable, undone, or overwritten by a durable write: nothing left to do. */
  settled: boolean;
}

/**
 * How to undo the writes of transactions that are not durable yet, kept per entity so that undoing
 * one write never clobbers a later write to the same entity.
 *
 * The store applies a transaction's writes to memory at once and undoes them when its function
 * throws or its journal line fails. Transactions are not isolated, so while one waits (for a read, or
 * for its line), another may write the same entity. Restoring the first one's "before" value then
 * would wipe the second one's write, which may already be durable or about to be. Instead:
 * - undoing a write that a later unsettled write has overwritten leaves the value alone and hands its
 *   "before" to that later write (if that one is undone too, the entity goes back to the value before
 *   both);
 * - a write that becomes durable settles every earlier write of its entity: undoing those later
 *   changes nothing for that entity, since a durable value has replaced theirs.
 * Only unsettled writes are kept, so memory is bounded by the transactions in flight.
 */
export class UndoLog {
  private readonly latest = new Map<string, Entry>();

  /** Records a write to entity `key`; `restore(before)` puts `before` back. */
  record<V>(key: string, before: V, restore: (before: V) => void): UndoEntry {
    const prev = this.latest.get(key);
    const entry: Entry = { key, before, restore: restore as (before: unknown) => void, prev, settled: false };
    if (prev) prev.next = entry;
    this.latest.set(key, entry);
    return entry;
  }

  /** Undoes one write (a transaction that threw, or whose journal line failed); call latest first. */
  undo(handle: UndoEntry): void {
    const e = handle as Entry;
    if (e.settled) return;
    e.settled = true;
    if (e.next) {
      // A later write holds the entity: keep its value; undoing that one restores what was before this.
      e.next.before = e.before;
      e.next.prev = e.prev;
      if (e.prev) e.prev.next = e.next;
    } else {
      e.restore(e.before);
      if (e.prev) {
        e.prev.next = undefined;
        this.latest.set(e.key, e.prev);
      } else this.latest.delete(e.key);
    }
    e.prev = e.next = undefined;
  }

  /** The write is durable: it, and every earlier write of its entity, will not be undone. */
  settle(handle: UndoEntry): void {
    const e = handle as Entry;
    if (e.settled) return;
    for (let p = e.prev; p; p = p.prev) p.settled = true;
    e.settled = true;
    e.prev = undefined;
    if (e.next) e.next.prev = undefined;
    else this.latest.delete(e.key);
    e.next = undefined;
  }

  /** Unsettled writes, for tests: entities with a write that may still be undone. */
  get size(): number {
    return this.latest.size;
  }
}

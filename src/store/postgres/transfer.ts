import { isDeepStrictEqual } from 'node:util';
import { LowdbStore } from '../lowdb-store.js';
import type { Snapshot, StoredEvent } from '../schema.js';
import type { Store, StoreCounts, StoreTx } from '../store.js';
import { PostgresStore } from './postgres-store.js';

/** Values written per transaction while copying. */
const BATCH = 500;

/** The target already holds data: copying into it would mix two stores. */
export class TargetNotEmptyError extends Error {
  override name = 'TargetNotEmptyError';
}

/** Every snapshot of a resource, deletion tombstones included (the Store interface lists only live ones). */
function allSnapshots(store: Store, resource: string): AsyncIterable<[string, Snapshot]> {
  if (store instanceof PostgresStore) return store.allSnapshots(resource);
  if (store instanceof LowdbStore) {
    return (async function* () {
      const map: Record<string, Snapshot> = (await store.dump()).snapshots[resource] ?? {};
      yield* Object.entries(map);
    })();
  }
  throw new Error('copying snapshots needs a lowdb or PostgreSQL store');
}

const isEmpty = (c: StoreCounts) =>
  c.subscriptions + c.api_keys + c.events + c.audit + c.deliveries.pending + c.deliveries.succeeded + c.deliveries.failed === 0 &&
  Object.values(c.snapshots).every((n) => n === 0);

/**
 * Copies everything from one store into another, empty one (`npm run store -- import|export`):
 * subscriptions, API keys, resource cursors, snapshots (tombstones included), events with their
 * dispatched flag, deliveries with their attempts, and the audit trail. Writes go in transactions of
 * a few hundred values; events oldest first. Neither store may be in use by a bridge meanwhile.
 * @returns the counts of both stores after the copy; they are equal when the copy is complete.
 * @throws TargetNotEmptyError when `to` already holds anything.
 */
export async function copyStore(from: Store, to: Store): Promise<{ from: StoreCounts; to: StoreCounts; equal: boolean }> {
  if (!isEmpty(await to.counts())) throw new TargetNotEmptyError(`${to.location} is not empty: import and export only fill an empty store`);
  const write = async <T>(items: AsyncIterable<T> | Iterable<T>, put: (tx: StoreTx, item: T) => void) => {
    let batch: T[] = [];
    const flush = async () => {
      const list = batch;
      batch = [];
      if (list.length > 0) await to.transaction((tx) => list.forEach((item) => put(tx, item)));
    };
    for await (const item of items) {
      batch.push(item);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  };

  await write(await from.listSubscriptions(), (tx, s) => tx.putSubscription(s));
  await write(await from.listApiKeys(), (tx, k) => tx.putApiKey(k));
  await write(Object.entries(await from.listResources()), (tx, [key, state]) => tx.putResource(key, state));
  for (const resource of Object.keys((await from.counts()).snapshots)) {
    await write(allSnapshots(from, resource), (tx, [id, snapshot]) => tx.putSnapshot(resource, id, snapshot));
  }
  // Newest-first pages, written oldest first: the lowdb store keeps events in detection order.
  const events: StoredEvent[] = (await from.listEvents({})).data.reverse();
  await write(events, (tx, e) => tx.appendEvents([e]));
  await write((await from.listDeliveries({})).data.reverse(), (tx, d) => tx.putDelivery(d));
  await write((await from.listAudit({})).data.reverse(), (tx, a) => tx.appendAudit(a));

  const [a, b] = await Promise.all([from.counts(), to.counts()]);
  return { from: a, to: b, equal: isDeepStrictEqual(a, b) };
}

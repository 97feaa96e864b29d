import type { Store } from './store.js';

/**
 * Drops what retention allows (issue "A store that survives crashes", Retention): events detected more
 * than `retentionDays` ago whose every delivery succeeded (or that had none), with those deliveries and
 * their attempts. Events with a pending or failed delivery are kept until it is retried or its
 * subscription is deleted. Snapshots are never dropped: they are what the next poll diffs against.
 * Audit entries older than the same window are dropped too.
 * @returns how many events, deliveries and audit entries were dropped; the caller commits.
 */
export function compact(store: Store, retentionDays: number, now = Date.now()): { events: number; deliveries: number; audit: number } {
  const cutoff = new Date(now - retentionDays * 86_400_000).toISOString();
  const byEvent = new Map<string, string[]>();
  const keep = new Set<string>();
  for (const d of Object.values(store.data.deliveries)) {
    if (d.status !== 'succeeded') keep.add(d.event_id);
    const list = byEvent.get(d.event_id);
    if (list) list.push(d.id);
    else byEvent.set(d.event_id, [d.id]);
  }
  const drop = new Set<string>();
  for (const e of store.data.events) {
    // Events are in detection order: stop at the first one inside the retention window.
    if (e.payload.timestamp >= cutoff) break;
    if (e.dispatched && !keep.has(e.payload.id)) drop.add(e.payload.id);
  }
  let deliveries = 0;
  for (const id of drop) {
    for (const dId of byEvent.get(id) ?? []) {
      store.deleteDelivery(dId);
      deliveries += 1;
    }
  }
  store.dropEvents(drop);
  const audit = store.dropAuditBefore(cutoff);
  return { events: drop.size, deliveries, audit };
}

import { ApiError } from '../http/errors.js';
import type { Delivery, Subscription } from '../store/schema.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { canSee, requireActive, visibleSubscriptions } from './subscriptions.js';

/** Deliveries: retrying one, the dead letters per subscription, and what changed recently. */

/** A delivery the principal may see (its subscription is visible). @throws ApiError 404 `not_found` */
function findDelivery(deps: ServiceDeps, p: Principal, id: string): Delivery {
  const d = deps.store.data.deliveries[id];
  const sub = d ? deps.store.data.subscriptions[d.subscription_id] : undefined;
  if (!d || (sub && !canSee(p, sub))) throw new ApiError(404, 'not_found', `No delivery ${id}`);
  return d;
}

/**
 * One more attempt now, without touching other deliveries; a `failed` one is `failed` again if it
 * fails. Needs `deliveries:write`.
 * @throws ApiError 404; 409 `already_succeeded` (replay its event instead); 409 `subscription_disabled`
 */
export async function retryDelivery(deps: ServiceDeps, caller: Caller, id: string): Promise<Delivery> {
  requireScopes(caller.principal, 'deliveries:write');
  const d = findDelivery(deps, caller.principal, id);
  if (d.status === 'succeeded') throw new ApiError(409, 'already_succeeded', `Delivery ${id} already succeeded; replay its event instead`);
  const sub = deps.store.data.subscriptions[d.subscription_id];
  if (!sub) throw new ApiError(404, 'not_found', `No delivery ${id}`);
  requireActive(sub);
  deps.worker.retryNow(id);
  recordAudit(deps.store, caller, 'delivery.retried', id, { event_id: d.event_id, subscription_id: d.subscription_id });
  await deps.store.commit();
  return d;
}

/** The failed deliveries (dead letters) of every visible subscription, newest first, at most `limit` each. Needs `subscriptions:read`. */
export function failedBySubscription(deps: ServiceDeps, p: Principal, limit = 20): Array<{ subscription: Subscription; failed: Delivery[]; total: number }> {
  return visibleSubscriptions(deps, p)
    .map((subscription) => {
      const all = deps.store.deliveriesOfSubscription(subscription.id).filter((d) => d.status === 'failed');
      return { subscription, failed: all.slice(-limit).reverse(), total: all.length };
    })
    .filter((s) => s.total > 0);
}

/**
 * Deliveries of visible subscriptions changed after `sinceIso` (created, or attempted), oldest
 * change first, at most `limit` (the newest of them). Needs `events:read`: this is what the console's
 * Live page streams.
 */
export function changedDeliveries(deps: ServiceDeps, p: Principal, sinceIso: string, limit = 50): Delivery[] {
  requireScopes(p, 'events:read');
  const subs = deps.store.data.subscriptions;
  const out: Delivery[] = [];
  for (const d of Object.values(deps.store.data.deliveries)) {
    if (d.updated_at <= sinceIso) continue;
    const sub = subs[d.subscription_id];
    if (sub && !canSee(p, sub)) continue;
    out.push(d);
  }
  out.sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : 1));
  return out.slice(-limit);
}

/** Per hour of the last 24: events detected, and delivery attempts made and how many succeeded. */
export interface HourlyActivity {
  /** Start of each hour (ISO), oldest first; 24 entries. */
  hours: string[];
  events: number[];
  attempts: number[];
  succeeded: number[];
}

const HOUR_MS = 3_600_000;

/**
 * Events and attempt outcomes per hour over the last 24 h, as the principal may see them (a key limited
 * to its own subscriptions counts only events and attempts of those). Needs `events:read`.
 */
export function hourlyActivity(deps: ServiceDeps, p: Principal, now = Date.now()): HourlyActivity {
  requireScopes(p, 'events:read');
  const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const start = end - 24 * HOUR_MS;
  const bucket = (iso: string) => {
    const t = Date.parse(iso);
    return t >= start && t < end ? Math.floor((t - start) / HOUR_MS) : -1;
  };
  const a: HourlyActivity = {
    hours: Array.from({ length: 24 }, (_, i) => new Date(start + i * HOUR_MS).toISOString()),
    events: new Array<number>(24).fill(0),
    attempts: new Array<number>(24).fill(0),
    succeeded: new Array<number>(24).fill(0),
  };
  const startIso = new Date(start).toISOString();
  const counted = new Set<string>();
  const subs = deps.store.data.subscriptions;
  for (const d of Object.values(deps.store.data.deliveries)) {
    const sub = subs[d.subscription_id];
    if (sub && !canSee(p, sub)) continue;
    if (p.ownSubscriptionsOnly && !counted.has(d.event_id)) {
      counted.add(d.event_id);
      const e = deps.store.getEvent(d.event_id);
      const i = e ? bucket(e.payload.timestamp) : -1;
      if (i >= 0) a.events[i]! += 1;
    }
    if (d.updated_at < startIso) continue;
    for (const at of d.attempts) {
      const i = bucket(at.attempted_at);
      if (i < 0) continue;
      a.attempts[i]! += 1;
      if (at.status_code !== null && at.status_code >= 200 && at.status_code < 300) a.succeeded[i]! += 1;
    }
  }
  if (!p.ownSubscriptionsOnly) {
    const events = deps.store.data.events;
    // Events are in id (detection) order: walk back from the newest until the window starts.
    for (let j = events.length - 1; j >= 0; j--) {
      const ts = events[j]!.payload.timestamp;
      if (ts < startIso) break;
      const i = bucket(ts);
      if (i >= 0) a.events[i]! += 1;
    }
  }
  return a;
}

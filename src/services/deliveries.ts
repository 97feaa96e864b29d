import { ApiError } from '../http/errors.js';
import type { Delivery, Subscription } from '../store/schema.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { canSee, requireActive, visibleSubscriptions } from './subscriptions.js';

/** Deliveries: retrying one, the dead letters per subscription, what changed lately, activity per hour. */

/**
 * One more attempt now, without touching other deliveries; a `failed` one is `failed` again if it
 * fails. Needs `deliveries:write`.
 * @throws ApiError 404 (unknown, or another key's); 409 `already_succeeded` (replay its event
 *   instead); 409 `subscription_disabled`
 * @returns the delivery as stored after queuing.
 */
export async function retryDelivery(deps: ServiceDeps, caller: Caller, id: string): Promise<Delivery> {
  requireScopes(caller.principal, 'deliveries:write');
  const d = await deps.store.getDelivery(id);
  const sub = d ? await deps.store.getSubscription(d.subscription_id) : undefined;
  if (!d || !sub || !canSee(caller.principal, sub)) throw new ApiError(404, 'not_found', `No delivery ${id}`);
  if (d.status === 'succeeded') throw new ApiError(409, 'already_succeeded', `Delivery ${id} already succeeded; replay its event instead`);
  requireActive(sub);
  await deps.worker.retryNow(id);
  await deps.store.transaction((tx) =>
    recordAudit(tx, caller, 'delivery.retried', id, { event_id: d.event_id, subscription_id: d.subscription_id }),
  );
  return (await deps.store.getDelivery(id)) ?? d;
}

/** The failed deliveries (dead letters) of every visible subscription that has any, newest first, at most `limit` each. Needs `subscriptions:read`. */
export async function failedBySubscription(
  deps: ServiceDeps,
  p: Principal,
  limit = 20,
): Promise<Array<{ subscription: Subscription; failed: Delivery[]; total: number }>> {
  const out = [];
  for (const subscription of await visibleSubscriptions(deps, p)) {
    const { data } = await deps.store.listDeliveries({ subscription_id: subscription.id, status: 'failed' });
    if (data.length > 0) out.push({ subscription, failed: data.slice(0, limit), total: data.length });
  }
  return out;
}

/** How many of the newest deliveries `changedDeliveries` looks at (per visible subscription for a restricted key). */
const RECENT_DELIVERIES = 500;

/**
 * Deliveries of visible subscriptions changed (created or attempted) after `sinceIso`, oldest change
 * first, at most `limit` (the latest of them). Looks at the newest 500 deliveries, which holds every
 * delivery still being retried on a usual schedule. Needs `events:read`: this is what the console's
 * Live page streams.
 */
export async function changedDeliveries(deps: ServiceDeps, p: Principal, sinceIso: string, limit = 50): Promise<Delivery[]> {
  requireScopes(p, 'events:read');
  const { store } = deps;
  let recent: Delivery[];
  if (p.ownSubscriptionsOnly) {
    recent = [];
    for (const s of (await store.listSubscriptions()).filter((s) => canSee(p, s)))
      recent.push(...(await store.listDeliveries({ subscription_id: s.id, limit: RECENT_DELIVERIES })).data);
  } else {
    recent = (await store.listDeliveries({ limit: RECENT_DELIVERIES })).data;
  }
  const out = recent.filter((d) => d.updated_at > sinceIso);
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
const PAGE = 1_000;

/**
 * Events detected per hour over the last 24 h, and the attempts of deliveries created in that time
 * per hour with how many got a 2xx, as the principal may see them (a key limited to its own
 * subscriptions counts only events delivered to those and their attempts). Needs `events:read`.
 */
export async function hourlyActivity(deps: ServiceDeps, p: Principal, now = Date.now()): Promise<HourlyActivity> {
  requireScopes(p, 'events:read');
  const { store } = deps;
  const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const start = end - 24 * HOUR_MS;
  const startIso = new Date(start).toISOString();
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
  const own = p.ownSubscriptionsOnly ? (await store.listSubscriptions()).filter((s) => canSee(p, s)).map((s) => s.id) : undefined;
  const { data: events } = await store.listEvents({ since: startIso, delivered_to: own });
  for (const e of events) {
    const i = bucket(e.payload.timestamp);
    if (i >= 0) a.events[i]! += 1;
  }
  const count = (d: Delivery) => {
    for (const at of d.attempts) {
      const i = bucket(at.attempted_at);
      if (i < 0) continue;
      a.attempts[i]! += 1;
      if (at.status_code !== null && at.status_code >= 200 && at.status_code < 300) a.succeeded[i]! += 1;
    }
  };
  // Newest first, a page at a time, until deliveries created before the window.
  for (const subscription_id of own ?? [undefined]) {
    let before: string | undefined;
    for (;;) {
      const page = await store.listDeliveries({ subscription_id, limit: PAGE, before });
      let older = false;
      for (const d of page.data) {
        if (d.created_at < startIso) older = true;
        else count(d);
      }
      if (older || !page.next) break;
      before = page.next;
    }
  }
  return a;
}

import { deliveryBody } from '../delivery/body.js';
import { matchesEventType } from '../delivery/match.js';
import { ApiError } from '../http/errors.js';
import type { Attempt, Delivery, EventPayload, StoredEvent, Subscription } from '../store/schema.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { pageNewestFirst, type Page } from './paging.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { canSee, findSubscription, requireActive } from './subscriptions.js';

/**
 * Events: what a principal may read of them, their deliveries and attempts, and what a replay does.
 * The JSON API and the console both call these.
 */

/** Filters of the event list; times are ISO strings, `type` an event type or `resource.*`. */
export interface EventFilter {
  type?: string;
  resource?: string;
  resource_id?: string;
  since?: string;
  until?: string;
}

/** An event as a principal may read it. `thin` when it reads as a thin delivery: no record values at all. */
export interface VisibleEvent {
  payload: EventPayload;
  thin: boolean;
}

/**
 * What a principal may read of events: everything for the admin token and `all` keys; for a key
 * limited to its own subscriptions, only events delivered to one of them, shaped as that subscription
 * receives them (thin payloads and field allow-lists apply). An event delivered to two of the key's
 * subscriptions reads as the oldest one receives it.
 * @returns a function giving the visible event, or null when it is not visible.
 */
export function eventReader(deps: ServiceDeps, p: Principal): (payload: EventPayload) => VisibleEvent | null {
  if (!p.ownSubscriptionsOnly) return (payload) => ({ payload, thin: false });
  const { store } = deps;
  const mine = new Map<string, Subscription>();
  const own = Object.values(store.data.subscriptions).filter((s) => s.owner === p.keyId);
  for (const sub of own.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const d of store.deliveriesOfSubscription(sub.id)) if (!mine.has(d.event_id)) mine.set(d.event_id, sub);
  }
  return (payload) => {
    const sub = mine.get(payload.id);
    return sub ? { payload: JSON.parse(deliveryBody(payload, sub)) as EventPayload, thin: sub.payload === 'thin' } : null;
  };
}

/** Newest-first events matching the filter that the principal may read. Needs `events:read`. */
export function listEvents(deps: ServiceDeps, p: Principal, f: EventFilter, limit: number, before?: string): Page<VisibleEvent> {
  requireScopes(p, 'events:read');
  const since = f.since ? Date.parse(f.since) : -Infinity;
  const until = f.until ? Date.parse(f.until) : Infinity;
  const read = eventReader(deps, p);
  const keep = (e: StoredEvent) => {
    const t = Date.parse(e.payload.timestamp);
    return (
      (!f.type || matchesEventType([f.type], e.payload.type)) &&
      (!f.resource || e.payload.data.resource === f.resource) &&
      (!f.resource_id || e.payload.data.id === f.resource_id) &&
      t >= since &&
      t < until &&
      read(e.payload) !== null
    );
  };
  const page = pageNewestFirst(deps.store.data.events, (e) => e.payload.id, keep, limit, before);
  return { data: page.data.map((e) => read(e.payload)!), next: page.next };
}

/** The deliveries of an event to subscriptions the principal may see, oldest first. */
function visibleDeliveries(deps: ServiceDeps, p: Principal, eventId: string): Delivery[] {
  return deps.store.deliveriesOfEvent(eventId).filter((d) => {
    const sub = deps.store.data.subscriptions[d.subscription_id];
    return !sub || canSee(p, sub);
  });
}

/** A stored event the principal may read. @throws ApiError 404 `not_found` */
function findEvent(deps: ServiceDeps, p: Principal, id: string): { stored: StoredEvent; visible: VisibleEvent } {
  const stored = deps.store.getEvent(id);
  const visible = stored ? eventReader(deps, p)(stored.payload) : null;
  if (!stored || !visible) throw new ApiError(404, 'not_found', `No event ${id}`);
  return { stored, visible };
}

/** One event with its (visible) deliveries, attempts included. Needs `events:read`. @throws ApiError 404 */
export function getEvent(deps: ServiceDeps, p: Principal, id: string): VisibleEvent & { deliveries: Delivery[] } {
  requireScopes(p, 'events:read');
  const { visible } = findEvent(deps, p, id);
  return { ...visible, deliveries: visibleDeliveries(deps, p, id) };
}

/** Every attempt of every visible delivery of an event, oldest first. Needs `events:read`. @throws ApiError 404 */
export function eventAttempts(deps: ServiceDeps, p: Principal, id: string): Array<Attempt & { delivery_id: string; subscription_id: string }> {
  requireScopes(p, 'events:read');
  findEvent(deps, p, id);
  return visibleDeliveries(deps, p, id)
    .flatMap((d) => d.attempts.map((a) => ({ ...a, delivery_id: d.id, subscription_id: d.subscription_id })))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Replays an event: new deliveries with the same event id and body (receivers deduplicate on
 * `webhook-id`). To one subscription — which must be active and, unless `force`, subscribed to the
 * event's type — or to every active visible subscription whose `event_types` match. Needs `events:write`.
 * @throws ApiError 404 (event or subscription); 409 `subscription_disabled`; 409
 *   `event_type_not_subscribed` when the subscription's event types do not match and `force` is not set
 */
export async function replayEvent(deps: ServiceDeps, caller: Caller, id: string, opts: { subscription_id?: string; force?: boolean } = {}): Promise<Delivery[]> {
  const p = caller.principal;
  requireScopes(p, 'events:write');
  const { store } = deps;
  const { stored } = findEvent(deps, p, id);
  const type = stored.payload.type;
  let targets: Subscription[];
  if (opts.subscription_id) {
    const sub = findSubscription(deps, p, opts.subscription_id);
    requireActive(sub);
    if (!opts.force && !matchesEventType(sub.event_types, type)) {
      throw new ApiError(
        409,
        'event_type_not_subscribed',
        `Subscription ${sub.id} is not subscribed to ${type} (its event types: ${sub.event_types.join(', ')}); send "force": true to replay it anyway`,
      );
    }
    targets = [sub];
  } else {
    targets = Object.values(store.data.subscriptions).filter((s) => s.status === 'active' && canSee(p, s) && matchesEventType(s.event_types, type));
  }
  const created = deps.dispatcher.replay(targets.map((s) => ({ eventId: id, subscriptionId: s.id })));
  recordAudit(store, caller, 'event.replayed', id, { subscriptions: targets.map((s) => s.id), ...(opts.force ? { force: true } : {}) });
  await store.commit();
  return created;
}

/**
 * Replays every event detected in [since, until), optionally of some types, to every matching active
 * visible subscription (or one). Needs `events:write`.
 * @throws ApiError 400 `invalid_request` when until is not after since; 404; 409 `subscription_disabled`
 */
export async function replayRange(
  deps: ServiceDeps,
  caller: Caller,
  body: { since: string; until?: string; subscription_id?: string; event_types?: string[] },
): Promise<{ events: number; deliveries: number }> {
  const p = caller.principal;
  requireScopes(p, 'events:write');
  const { store } = deps;
  const since = Date.parse(body.since);
  const until = body.until ? Date.parse(body.until) : Infinity;
  if (!(until > since)) throw new ApiError(400, 'invalid_request', 'until must be after since');
  let subs: Subscription[];
  if (body.subscription_id) {
    const sub = findSubscription(deps, p, body.subscription_id);
    requireActive(sub);
    subs = [sub];
  } else {
    subs = Object.values(store.data.subscriptions).filter((s) => s.status === 'active' && canSee(p, s));
  }
  const targets: Array<{ eventId: string; subscriptionId: string }> = [];
  let events = 0;
  for (const e of store.data.events) {
    const t = Date.parse(e.payload.timestamp);
    if (t < since || t >= until) continue;
    if (body.event_types && !matchesEventType(body.event_types, e.payload.type)) continue;
    const matching = subs.filter((s) => matchesEventType(s.event_types, e.payload.type));
    if (matching.length === 0) continue;
    events += 1;
    for (const s of matching) targets.push({ eventId: e.payload.id, subscriptionId: s.id });
  }
  const created = deps.dispatcher.replay(targets);
  recordAudit(store, caller, 'events.replayed', body.subscription_id ?? null, {
    since: body.since,
    until: body.until ?? null,
    event_types: body.event_types ?? null,
    events,
    deliveries: created.length,
  });
  await store.commit();
  return { events, deliveries: created.length };
}

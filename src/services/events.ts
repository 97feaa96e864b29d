import { deliveryBody } from '../delivery/body.js';
import { matchesEventType } from '../delivery/match.js';
import { ApiError } from '../http/errors.js';
import type { Attempt, Delivery, StoredEvent, Subscription } from '../store/schema.js';
import type { EventEnvelope } from '../events/envelope.js';
import type { Page, StoreReader } from '../store/store.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
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

/** An event as a principal may read it. `thin`: it reads as a thin delivery, without record values. */
export interface VisibleEvent {
  payload: EventEnvelope;
  thin: boolean;
}

/** What a principal may read of events. */
export interface EventReader {
  /** The subscriptions whose deliveries make an event visible; null when every event is. */
  deliveredTo: string[] | null;
  /** The event as this principal may read it, or null when it is not visible. */
  read(payload: EventEnvelope): Promise<VisibleEvent | null>;
}

/**
 * What a principal may read of events: everything for the admin token and `all` keys; for a key
 * limited to its own subscriptions, only events delivered to one of them, shaped as that subscription
 * receives them (thin payloads and field allow-lists apply). An event delivered to two of the key's
 * subscriptions reads as the oldest one receives it.
 */
export async function eventReader(store: StoreReader, p: Principal): Promise<EventReader> {
  if (!p.ownSubscriptionsOnly) return { deliveredTo: null, read: async (payload) => ({ payload, thin: false }) };
  const own = new Map((await store.listSubscriptions()).filter((s) => s.owner === p.keyId).map((s) => [s.id, s]));
  return {
    deliveredTo: [...own.keys()],
    read: async (payload) => {
      const { data } = await store.listDeliveries({ event_id: payload.id });
      const sub = data
        .map((d) => own.get(d.subscription_id))
        .filter((s): s is Subscription => s !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : 1))[0];
      return sub ? { payload: JSON.parse(deliveryBody(payload, sub)) as EventEnvelope, thin: sub.payload === 'thin' } : null;
    },
  };
}

/** Newest-first events matching the filter that the principal may read. Needs `events:read`. */
export async function listEvents(
  deps: ServiceDeps,
  p: Principal,
  f: EventFilter,
  limit: number,
  before?: string,
): Promise<Page<VisibleEvent>> {
  requireScopes(p, 'events:read');
  const reader = await eventReader(deps.store, p);
  const page = await deps.store.listEvents({
    limit,
    before,
    types: f.type ? [f.type] : undefined,
    resource: f.resource,
    record_id: f.resource_id,
    since: f.since ? new Date(f.since).toISOString() : undefined,
    until: f.until ? new Date(f.until).toISOString() : undefined,
    delivered_to: reader.deliveredTo ?? undefined,
  });
  const data: VisibleEvent[] = [];
  for (const e of page.data) {
    const visible = await reader.read(e.payload);
    if (visible) data.push(visible);
  }
  return { data, next: page.next };
}

/** The deliveries of an event to subscriptions the principal may see (or deleted ones), oldest first. */
async function visibleDeliveries(deps: ServiceDeps, p: Principal, eventId: string): Promise<Delivery[]> {
  const { data } = await deps.store.listDeliveries({ event_id: eventId });
  const out: Delivery[] = [];
  for (const d of data.reverse()) {
    const sub = await deps.store.getSubscription(d.subscription_id);
    if (!sub || canSee(p, sub)) out.push(d);
  }
  return out;
}

/** A stored event the principal may read. @throws ApiError 404 `not_found` */
async function findEvent(deps: ServiceDeps, p: Principal, id: string): Promise<{ stored: StoredEvent; visible: VisibleEvent }> {
  const stored = await deps.store.getEvent(id);
  const visible = stored ? await (await eventReader(deps.store, p)).read(stored.payload) : null;
  if (!stored || !visible) throw new ApiError(404, 'not_found', `No event ${id}`);
  return { stored, visible };
}

/** One event with its visible deliveries (attempts included), oldest delivery first. Needs `events:read`. @throws ApiError 404 */
export async function getEvent(deps: ServiceDeps, p: Principal, id: string): Promise<VisibleEvent & { deliveries: Delivery[] }> {
  requireScopes(p, 'events:read');
  const { visible } = await findEvent(deps, p, id);
  return { ...visible, deliveries: await visibleDeliveries(deps, p, id) };
}

/** Every attempt of every visible delivery of an event, oldest first. Needs `events:read`. @throws ApiError 404 */
export async function eventAttempts(
  deps: ServiceDeps,
  p: Principal,
  id: string,
): Promise<Array<Attempt & { delivery_id: string; subscription_id: string }>> {
  requireScopes(p, 'events:read');
  await findEvent(deps, p, id);
  return (await visibleDeliveries(deps, p, id))
    .flatMap((d) => d.attempts.map((a) => ({ ...a, delivery_id: d.id, subscription_id: d.subscription_id })))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The active subscriptions a principal may see. */
async function activeVisible(deps: ServiceDeps, p: Principal): Promise<Subscription[]> {
  return (await deps.store.listSubscriptions()).filter((s) => s.status === 'active' && canSee(p, s));
}

/**
 * Replays an event: new deliveries with the same event id and body (receivers deduplicate on
 * `webhook-id`). To one subscription — which must be active and, unless `force`, subscribed to the
 * event's type — or to every active visible subscription whose `event_types` match. Needs `events:write`.
 * @throws ApiError 404 (event or subscription); 409 `subscription_disabled`; 409
 *   `event_type_not_subscribed` when the subscription's event types do not select the event's type
 *   and `force` is not set
 * @returns the deliveries created (durable, and handed to the worker).
 */
export async function replayEvent(
  deps: ServiceDeps,
  caller: Caller,
  id: string,
  opts: { subscription_id?: string; force?: boolean } = {},
): Promise<Delivery[]> {
  const p = caller.principal;
  requireScopes(p, 'events:write');
  const { stored } = await findEvent(deps, p, id);
  const type = stored.payload.type;
  let targets: Subscription[];
  if (opts.subscription_id) {
    const sub = await findSubscription(deps, p, opts.subscription_id);
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
    targets = (await activeVisible(deps, p)).filter((s) => matchesEventType(s.event_types, type));
  }
  const created = await deps.store.transaction((tx) => {
    const created = deps.dispatcher.replay(
      tx,
      targets.map((s) => ({ eventId: id, subscriptionId: s.id })),
    );
    recordAudit(tx, caller, 'event.replayed', id, { subscriptions: targets.map((s) => s.id), ...(opts.force ? { force: true } : {}) });
    return created;
  });
  deps.dispatcher.created(created);
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
  const since = Date.parse(body.since);
  const until = body.until ? Date.parse(body.until) : Infinity;
  if (!(until > since)) throw new ApiError(400, 'invalid_request', 'until must be after since');
  let subs: Subscription[];
  if (body.subscription_id) {
    const sub = await findSubscription(deps, p, body.subscription_id);
    requireActive(sub);
    subs = [sub];
  } else {
    subs = await activeVisible(deps, p);
  }
  const { data: window } = await deps.store.listEvents({
    since: new Date(since).toISOString(),
    until: Number.isFinite(until) ? new Date(until).toISOString() : undefined,
    types: body.event_types,
  });
  const targets: Array<{ eventId: string; subscriptionId: string }> = [];
  let events = 0;
  for (const e of window.reverse()) {
    const matching = subs.filter((s) => matchesEventType(s.event_types, e.payload.type));
    if (matching.length === 0) continue;
    events += 1;
    for (const s of matching) targets.push({ eventId: e.payload.id, subscriptionId: s.id });
  }
  const created = await deps.store.transaction((tx) => {
    const created = deps.dispatcher.replay(tx, targets);
    recordAudit(tx, caller, 'events.replayed', body.subscription_id ?? null, {
      since: body.since,
      until: body.until ?? null,
      event_types: body.event_types ?? null,
      events,
      deliveries: created.length,
    });
    return created;
  });
  deps.dispatcher.created(created);
  return { events, deliveries: created.length };
}

/**
 * The newest bodies of events selected by `pattern` that the principal may read, as they read them
 * (for `GET /v1/hooks/sample`), at most `n`. Needs `events:read`.
 */
export async function recentEventBodies(deps: ServiceDeps, p: Principal, pattern: string, n: number): Promise<EventEnvelope[]> {
  requireScopes(p, 'events:read');
  const reader = await eventReader(deps.store, p);
  const recent: EventEnvelope[] = [];
  let before: string | undefined;
  // Newest first, a page at a time, until enough visible ones are found.
  do {
    const page = await deps.store.listEvents({ types: [pattern], delivered_to: reader.deliveredTo ?? undefined, limit: n, before });
    for (const e of page.data) {
      const visible = await reader.read(e.payload);
      if (visible && recent.length < n) recent.push(visible.payload);
    }
    before = page.next ?? undefined;
  } while (before && recent.length < n);
  return recent;
}

import { generateSecret } from '../delivery/sign.js';
import { UnsafeUrlError } from '../delivery/ssrf.js';
import { ApiError } from '../http/errors.js';
import type { Delivery, Subscription } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { pageNewestFirst, type Page } from './paging.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { DEFAULT_GRACE_SECONDS, type NewSubscriptionInput, type SubscriptionChange } from './subscription-input.js';

/**
 * Subscriptions: who may see which (a key limited to its own sees only those it created, and any
 * other is as unknown as a missing one), what creating, changing, disabling, rotating and deleting
 * mean. The JSON API and the console both call these; neither decides any of it itself.
 */

/** Whether a principal may see a subscription. */
export function canSee(p: Principal, sub: Subscription): boolean {
  return !p.ownSubscriptionsOnly || sub.owner === p.keyId;
}

/** The subscriptions a principal may see, by ascending id. Needs `subscriptions:read`. */
export function visibleSubscriptions(deps: ServiceDeps, p: Principal): Subscription[] {
  requireScopes(p, 'subscriptions:read');
  return Object.values(deps.store.data.subscriptions)
    .filter((s) => canSee(p, s))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A newest-first page of the visible subscriptions. */
export function listSubscriptions(deps: ServiceDeps, p: Principal, limit: number, before?: string): Page<Subscription> {
  return pageNewestFirst(visibleSubscriptions(deps, p), (s) => s.id, () => true, limit, before);
}

/**
 * A subscription the principal may see, without a scope check (callers check theirs).
 * @throws ApiError 404 `not_found` for an unknown one or another key's.
 */
export function findSubscription(deps: ServiceDeps, p: Principal, id: string): Subscription {
  const s = deps.store.data.subscriptions[id];
  if (!s || !canSee(p, s)) throw new ApiError(404, 'not_found', `No subscription ${id}`);
  return s;
}

/** One subscription. Needs `subscriptions:read`. @throws ApiError 404 */
export function getSubscription(deps: ServiceDeps, p: Principal, id: string): Subscription {
  requireScopes(p, 'subscriptions:read');
  return findSubscription(deps, p, id);
}

/** The current signing secret. Needs `subscriptions:read`. @throws ApiError 404 */
export function revealSecret(deps: ServiceDeps, p: Principal, id: string): string {
  return getSubscription(deps, p, id).secret;
}

/** The SSRF guard for a subscriber URL. @throws ApiError 422 `unsafe_url` */
async function checkSubscriberUrl(deps: ServiceDeps, raw: string): Promise<void> {
  try {
    await deps.policy.check(raw);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw new ApiError(422, 'unsafe_url', err.message);
    throw err;
  }
}

/**
 * Creates a subscription owned by the caller (its API key, or none for the admin token): SSRF check,
 * defaults, a new secret, audit, durable before it returns. Needs `subscriptions:write`.
 * @throws ApiError 422 `unsafe_url`
 */
export async function createSubscription(deps: ServiceDeps, caller: Caller, body: NewSubscriptionInput & { kind?: Subscription['kind'] }): Promise<Subscription> {
  requireScopes(caller.principal, 'subscriptions:write');
  const { store } = deps;
  await checkSubscriberUrl(deps, body.url);
  const at = new Date().toISOString();
  const sub: Subscription = {
    id: newId('sub'),
    url: body.url,
    event_types: body.event_types,
    description: body.description ?? null,
    status: 'active',
    disabled_reason: null,
    disabled_at: null,
    kind: body.kind ?? 'subscription',
    secret: generateSecret(),
    previous_secrets: [],
    headers: body.headers ?? {},
    rate_limit_per_second: body.rate_limit_per_second ?? null,
    max_in_flight: body.max_in_flight ?? null,
    ordering: body.ordering ?? 'none',
    payload: body.payload ?? 'full',
    fields: body.fields ?? null,
    failing_since: null,
    owner: caller.principal.keyId,
    created_at: at,
    updated_at: at,
  };
  store.putSubscription(sub);
  recordAudit(store, caller, 'subscription.created', sub.id, { url: sub.url, event_types: sub.event_types });
  await store.commit();
  deps.logger.info({ subscription: sub.id, event_types: sub.event_types }, 'subscription created');
  return sub;
}

/**
 * Changes the fields given. Disabling (`status: disabled`) stops new deliveries being queued for it
 * and holds its pending ones; events detected meanwhile are not queued for it (replay the gap from
 * `disabled_at`). Enabling resumes its pending deliveries and starts its failing window afresh.
 * Needs `subscriptions:write`. @throws ApiError 404, 422 `unsafe_url`
 */
export async function updateSubscription(deps: ServiceDeps, caller: Caller, id: string, body: SubscriptionChange): Promise<Subscription> {
  requireScopes(caller.principal, 'subscriptions:write');
  const { store } = deps;
  const sub = findSubscription(deps, caller.principal, id);
  if (body.url !== undefined) await checkSubscriberUrl(deps, body.url);
  const now = new Date().toISOString();
  if (body.url !== undefined) sub.url = body.url;
  if (body.event_types !== undefined) sub.event_types = body.event_types;
  if (body.description !== undefined) sub.description = body.description;
  if (body.headers !== undefined) sub.headers = body.headers;
  if (body.rate_limit_per_second !== undefined) sub.rate_limit_per_second = body.rate_limit_per_second;
  if (body.max_in_flight !== undefined) sub.max_in_flight = body.max_in_flight;
  if (body.ordering !== undefined) sub.ordering = body.ordering;
  if (body.payload !== undefined) sub.payload = body.payload;
  if (body.fields !== undefined) sub.fields = body.fields;
  if (body.status !== undefined && body.status !== sub.status) {
    sub.status = body.status;
    sub.disabled_reason = body.status === 'disabled' ? 'manual' : null;
    sub.disabled_at = body.status === 'disabled' ? now : null;
    // Re-enabled: its failing window starts again, and its pending work resumes.
    if (body.status === 'active') sub.failing_since = null;
  }
  sub.updated_at = now;
  store.touchSubscription(sub.id);
  recordAudit(store, caller, 'subscription.updated', sub.id, { fields: Object.keys(body) });
  await store.commit();
  deps.worker.refresh();
  return sub;
}

/**
 * A new signing secret; the old one keeps signing (a second signature) for `graceSeconds`.
 * Needs `subscriptions:write`. @throws ApiError 404
 * @returns the new secret and when the old one stops signing (null without a grace period).
 */
export async function rotateSecret(deps: ServiceDeps, caller: Caller, id: string, graceSeconds = DEFAULT_GRACE_SECONDS): Promise<{ secret: string; previous_secret_expires_at: string | null }> {
  requireScopes(caller.principal, 'subscriptions:write');
  const { store } = deps;
  const sub = findSubscription(deps, caller.principal, id);
  const nowMs = Date.now();
  const kept = sub.previous_secrets.filter((s) => Date.parse(s.expires_at) > nowMs);
  const expires_at = new Date(nowMs + graceSeconds * 1000).toISOString();
  sub.previous_secrets = graceSeconds > 0 ? [...kept, { secret: sub.secret, expires_at }] : kept;
  sub.secret = generateSecret();
  sub.updated_at = new Date(nowMs).toISOString();
  store.touchSubscription(sub.id);
  recordAudit(store, caller, 'subscription.secret_rotated', sub.id, { grace_period_seconds: graceSeconds });
  await store.commit();
  deps.logger.info({ subscription: sub.id, grace_period_seconds: graceSeconds }, 'subscription secret rotated');
  return { secret: sub.secret, previous_secret_expires_at: graceSeconds > 0 ? expires_at : null };
}

/**
 * Deletes a subscription with its deliveries (pending ones are never sent); audited, durable before
 * it returns. Needs `subscriptions:write`. @throws ApiError 404
 */
export async function deleteSubscription(deps: ServiceDeps, caller: Caller, id: string): Promise<void> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = findSubscription(deps, caller.principal, id);
  deps.worker.forget(deps.store.deleteSubscription(sub.id));
  recordAudit(deps.store, caller, 'subscription.deleted', sub.id, { url: sub.url });
  await deps.store.commit();
  deps.logger.info({ subscription: sub.id }, 'subscription deleted');
}

/** A subscription's deliveries, newest first, optionally of one status. Needs `subscriptions:read`. @throws ApiError 404 */
export function subscriptionDeliveries(deps: ServiceDeps, p: Principal, id: string, q: { status?: Delivery['status']; limit: number; before?: string }): Page<Delivery> {
  const sub = getSubscription(deps, p, id);
  return pageNewestFirst(deps.store.deliveriesOfSubscription(sub.id), (d) => d.id, (d) => !q.status || d.status === q.status, q.limit, q.before);
}

/** @throws ApiError 409 `subscription_disabled` unless the subscription is active. */
export function requireActive(sub: Subscription): void {
  if (sub.status !== 'active') throw new ApiError(409, 'subscription_disabled', `Subscription ${sub.id} is disabled; enable it first`);
}

/**
 * Recover: every `failed` delivery of the subscription created in [since, until) gets one more
 * attempt now. Needs `subscriptions:write`.
 * @throws ApiError 404; 409 `subscription_disabled`; 400 `invalid_request` when until is not after since
 * @returns how many deliveries were queued.
 */
export async function recoverFailed(deps: ServiceDeps, caller: Caller, id: string, since: string, until?: string): Promise<number> {
  requireScopes(caller.principal, 'subscriptions:write');
  const { store, worker } = deps;
  const sub = findSubscription(deps, caller.principal, id);
  requireActive(sub);
  const from = Date.parse(since);
  const to = until ? Date.parse(until) : Infinity;
  if (!(to > from)) throw new ApiError(400, 'invalid_request', 'until must be after since');
  let count = 0;
  for (const d of store.deliveriesOfSubscription(sub.id)) {
    if (d.status !== 'failed') continue;
    const created = Date.parse(d.created_at);
    if (created < from || created >= to) continue;
    if (worker.retryNow(d.id)) count += 1;
  }
  recordAudit(store, caller, 'subscription.recovered', sub.id, { since, until: until ?? null, deliveries: count });
  await store.commit();
  deps.logger.info({ subscription: sub.id, deliveries: count }, 'recover requested');
  return count;
}

/** How a subscription is doing, for lists: its state and its deliveries' outcomes over a window. */
export interface SubscriptionHealth {
  state: 'healthy' | 'failing' | 'disabled';
  pending: number;
  failed: number;
  succeeded: number;
  /** When the last attempt was made, if any. */
  last_attempt_at: string | null;
}

/**
 * A subscription's health: `disabled`, `failing` (every attempt since `failing_since` failed) or
 * `healthy`, with delivery counts over deliveries created in the last `windowMs`.
 */
export function subscriptionHealth(deps: ServiceDeps, sub: Subscription, windowMs = 86_400_000, now = Date.now()): SubscriptionHealth {
  const h: SubscriptionHealth = { state: sub.status === 'disabled' ? 'disabled' : sub.failing_since ? 'failing' : 'healthy', pending: 0, failed: 0, succeeded: 0, last_attempt_at: null };
  for (const d of deps.store.deliveriesOfSubscription(sub.id)) {
    const last = d.attempts.at(-1)?.attempted_at;
    if (last && (!h.last_attempt_at || last > h.last_attempt_at)) h.last_attempt_at = last;
    if (d.status === 'pending') h.pending += 1;
    else if (now - Date.parse(d.created_at) <= windowMs) h[d.status] += 1;
  }
  return h;
}

/** The type of the events `sendTestEvent` makes: no source emits it, so receivers that filter by type ignore it. */
export const TEST_EVENT_TYPE = 'bridge.test';

/**
 * Sends a made-up `bridge.test` event to one subscription, signed and retried like any other, whatever
 * its event types; it is stored (and listed) like a real event. Needs `subscriptions:write`.
 * @throws ApiError 404; 409 `subscription_disabled`
 * @returns the event id and the delivery created.
 */
export async function sendTestEvent(deps: ServiceDeps, caller: Caller, id: string): Promise<{ event_id: string; delivery: Delivery }> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = findSubscription(deps, caller.principal, id);
  requireActive(sub);
  const eventId = newId('evt');
  const { store } = deps;
  store.appendEvents([
    {
      payload: {
        id: eventId,
        type: TEST_EVENT_TYPE,
        timestamp: new Date().toISOString(),
        data: { source: 'bridge', resource: 'test', id: eventId, object: { id: eventId, message: 'A test event sent from the clinic-event-bridge console' } },
      },
      // Never fanned out to other subscriptions: only the delivery below is made.
      dispatched: true,
    },
  ]);
  const [delivery] = deps.dispatcher.replay([{ eventId, subscriptionId: sub.id }]);
  recordAudit(store, caller, 'subscription.test_sent', sub.id, { event_id: eventId });
  await store.commit();
  return { event_id: eventId, delivery: delivery! };
}

import { isHook } from '../delivery/hooks.js';
import { generateSecret } from '../delivery/sign.js';
import { UnresolvableHostError, UnsafeUrlError } from '../delivery/ssrf.js';
import { ApiError } from '../http/errors.js';
import type { Delivery, StoredEvent, Subscription } from '../store/schema.js';
import { byId, type Page } from '../store/store.js';
import { pageNewestFirst } from '../store/page.js';
import { newId } from '../util/ids.js';
import { recordAudit } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { DEFAULT_GRACE_SECONDS, type NewSubscriptionInput, type SubscriptionChange } from './subscription-input.js';

/**
 * Subscriptions: who may see which (a key limited to its own sees only those it created, and any
 * other is as unknown as a missing one), and what creating, changing, disabling, rotating, testing,
 * recovering and deleting mean. The JSON API and the console both call these; neither decides any
 * of it itself.
 */

/** Whether a principal may see a subscription. */
export function canSee(p: Principal, sub: Subscription): boolean {
  return !p.ownSubscriptionsOnly || sub.owner === p.keyId;
}

/** The subscriptions a principal may see, oldest first. Needs `subscriptions:read`. */
export async function visibleSubscriptions(deps: ServiceDeps, p: Principal): Promise<Subscription[]> {
  requireScopes(p, 'subscriptions:read');
  return (await deps.store.listSubscriptions()).filter((s) => canSee(p, s)).sort(byId);
}

/** A newest-first page of the visible subscriptions. Needs `subscriptions:read`. */
export async function listSubscriptions(deps: ServiceDeps, p: Principal, limit: number, before?: string): Promise<Page<Subscription>> {
  return pageNewestFirst(
    await visibleSubscriptions(deps, p),
    (s) => s.id,
    () => true,
    limit,
    before,
  );
}

/**
 * A subscription the principal may see, without a scope check (callers check theirs).
 * @throws ApiError 404 `not_found` for an unknown one or another key's.
 */
export async function findSubscription(deps: ServiceDeps, p: Principal, id: string): Promise<Subscription> {
  const s = await deps.store.getSubscription(id);
  if (!s || !canSee(p, s)) throw new ApiError(404, 'not_found', `No subscription ${id}`);
  return s;
}

/** One subscription. Needs `subscriptions:read`. @throws ApiError 404 */
export async function getSubscription(deps: ServiceDeps, p: Principal, id: string): Promise<Subscription> {
  requireScopes(p, 'subscriptions:read');
  return findSubscription(deps, p, id);
}

/** The current signing secret. Needs `subscriptions:read`. @throws ApiError 404 */
export async function revealSecret(deps: ServiceDeps, p: Principal, id: string): Promise<string> {
  return (await getSubscription(deps, p, id)).secret;
}

/** The SSRF guard for a subscriber URL. @throws ApiError 422 `unsafe_url` or `unresolvable_host` */
async function checkSubscriberUrl(deps: ServiceDeps, raw: string): Promise<void> {
  try {
    await deps.policy.check(raw);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw new ApiError(422, 'unsafe_url', err.message);
    if (err instanceof UnresolvableHostError) throw new ApiError(422, 'unresolvable_host', err.message);
    throw err;
  }
}

/** @throws ApiError 409 `subscription_disabled` unless the subscription is active. */
export function requireActive(sub: Subscription): void {
  if (sub.status !== 'active') throw new ApiError(409, 'subscription_disabled', `Subscription ${sub.id} is disabled; enable it first`);
}

/**
 * Creates a subscription owned by the caller (its API key, or none for the admin token): SSRF check,
 * defaults, a new secret, audit, durable before it returns. Needs `subscriptions:write`.
 * @throws ApiError 422 `unsafe_url` or `unresolvable_host`
 */
export async function createSubscription(
  deps: ServiceDeps,
  caller: Caller,
  body: NewSubscriptionInput & { kind?: Subscription['kind'] },
): Promise<Subscription> {
  requireScopes(caller.principal, 'subscriptions:write');
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
  await deps.store.transaction((tx) => {
    tx.putSubscription(sub);
    recordAudit(tx, caller, 'subscription.created', sub.id, { url: sub.url, event_types: sub.event_types });
  });
  await deps.worker.refresh();
  deps.logger.info({ subscription: sub.id, event_types: sub.event_types }, 'subscription created');
  return sub;
}

/**
 * Changes the fields given. Disabling (`status: disabled`) holds its pending deliveries and stops new
 * ones being queued for it: events detected meanwhile are not queued for it (replay the gap from
 * `disabled_at`). Enabling resumes its pending deliveries and starts its failing window afresh.
 * Needs `subscriptions:write`. @throws ApiError 404, 422 `unsafe_url` or `unresolvable_host`
 * @returns the subscription as stored.
 */
export async function updateSubscription(deps: ServiceDeps, caller: Caller, id: string, body: SubscriptionChange): Promise<Subscription> {
  requireScopes(caller.principal, 'subscriptions:write');
  const current = await findSubscription(deps, caller.principal, id);
  if (body.url !== undefined) await checkSubscriberUrl(deps, body.url);
  const now = new Date().toISOString();
  const sub: Subscription = { ...current };
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
  await deps.store.transaction(async (tx) => {
    // Keep what the worker recorded meanwhile (its failing window, an automatic disable) unless this change sets the status.
    const latest = await tx.getSubscription(sub.id);
    tx.putSubscription(
      body.status === undefined && latest
        ? {
            ...sub,
            failing_since: latest.failing_since,
            status: latest.status,
            disabled_reason: latest.disabled_reason,
            disabled_at: latest.disabled_at,
          }
        : sub,
    );
    recordAudit(tx, caller, 'subscription.updated', sub.id, { fields: Object.keys(body) });
  });
  await deps.worker.refresh();
  return (await deps.store.getSubscription(sub.id)) ?? sub;
}

/**
 * A new signing secret; the old one keeps signing (a second signature) for `graceSeconds`.
 * Needs `subscriptions:write`. @throws ApiError 404
 * @returns the new secret and when the old one stops signing (null without a grace period).
 */
export async function rotateSecret(
  deps: ServiceDeps,
  caller: Caller,
  id: string,
  graceSeconds = DEFAULT_GRACE_SECONDS,
): Promise<{ secret: string; previous_secret_expires_at: string | null }> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = await findSubscription(deps, caller.principal, id);
  const nowMs = Date.now();
  const expires_at = new Date(nowMs + graceSeconds * 1000).toISOString();
  const secret = generateSecret();
  await deps.store.transaction(async (tx) => {
    const latest = (await tx.getSubscription(sub.id)) ?? sub;
    const kept = latest.previous_secrets.filter((s) => Date.parse(s.expires_at) > nowMs);
    tx.putSubscription({
      ...latest,
      previous_secrets: graceSeconds > 0 ? [...kept, { secret: latest.secret, expires_at }] : kept,
      secret,
      updated_at: new Date(nowMs).toISOString(),
    });
    recordAudit(tx, caller, 'subscription.secret_rotated', sub.id, { grace_period_seconds: graceSeconds });
  });
  deps.logger.info({ subscription: sub.id, grace_period_seconds: graceSeconds }, 'subscription secret rotated');
  return { secret, previous_secret_expires_at: graceSeconds > 0 ? expires_at : null };
}

/**
 * Deletes a subscription with its deliveries (pending ones are never sent); audited, durable before
 * it returns. Needs `subscriptions:write`. @throws ApiError 404
 */
export async function deleteSubscription(deps: ServiceDeps, caller: Caller, id: string): Promise<void> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = await findSubscription(deps, caller.principal, id);
  await deps.store.transaction(async (tx) => {
    await tx.deleteSubscription(sub.id);
    recordAudit(tx, caller, 'subscription.deleted', sub.id, { url: sub.url });
  });
  await deps.worker.refresh();
  deps.logger.info({ subscription: sub.id }, 'subscription deleted');
}

/** A subscription's deliveries, newest first, optionally of one status. Needs `subscriptions:read`. @throws ApiError 404 */
export async function subscriptionDeliveries(
  deps: ServiceDeps,
  p: Principal,
  id: string,
  q: { status?: Delivery['status']; limit: number; before?: string },
): Promise<Page<Delivery>> {
  const sub = await getSubscription(deps, p, id);
  return deps.store.listDeliveries({ subscription_id: sub.id, status: q.status, limit: q.limit, before: q.before });
}

/**
 * Recover: every `failed` delivery of the subscription created in [since, until) gets one more
 * attempt now. Needs `subscriptions:write`.
 * @throws ApiError 404; 409 `subscription_disabled`; 400 `invalid_request` when until is not after since
 * @returns how many deliveries were queued.
 */
export async function recoverFailed(deps: ServiceDeps, caller: Caller, id: string, since: string, until?: string): Promise<number> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = await findSubscription(deps, caller.principal, id);
  requireActive(sub);
  const from = Date.parse(since);
  const to = until ? Date.parse(until) : Infinity;
  if (!(to > from)) throw new ApiError(400, 'invalid_request', 'until must be after since');
  let count = 0;
  const { data: failed } = await deps.store.listDeliveries({ subscription_id: sub.id, status: 'failed' });
  for (const d of failed.reverse()) {
    const created = Date.parse(d.created_at);
    if (created < from || created >= to) continue;
    if (await deps.worker.retryNow(d.id)) count += 1;
  }
  await deps.store.transaction((tx) =>
    recordAudit(tx, caller, 'subscription.recovered', sub.id, { since, until: until ?? null, deliveries: count }),
  );
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
 * `healthy`, with its pending deliveries and the outcomes of those created in the last `windowMs`.
 */
export async function subscriptionHealth(
  deps: ServiceDeps,
  sub: Subscription,
  windowMs = 86_400_000,
  now = Date.now(),
): Promise<SubscriptionHealth> {
  const h: SubscriptionHealth = {
    state: sub.status === 'disabled' ? 'disabled' : sub.failing_since ? 'failing' : 'healthy',
    pending: 0,
    failed: 0,
    succeeded: 0,
    last_attempt_at: null,
  };
  const { data } = await deps.store.listDeliveries({ subscription_id: sub.id });
  for (const d of data) {
    const last = d.attempts.at(-1)?.attempted_at;
    if (last && (!h.last_attempt_at || last > h.last_attempt_at)) h.last_attempt_at = last;
    if (d.status === 'pending') h.pending += 1;
    else if (now - Date.parse(d.created_at) <= windowMs) h[d.status] += 1;
  }
  return h;
}

/** The type of the events `sendTestEvent` makes: no source emits it, so receivers that filter by type can ignore it. */
export const TEST_EVENT_TYPE = 'bridge.test';

/**
 * Sends a made-up `bridge.test` event to one subscription, signed and retried like any other, whatever
 * its event types; it is stored (and listed) like a real event but never fanned out to others.
 * Needs `subscriptions:write`. @throws ApiError 404; 409 `subscription_disabled`
 * @returns the event id and the delivery created.
 */
export async function sendTestEvent(deps: ServiceDeps, caller: Caller, id: string): Promise<{ event_id: string; delivery: Delivery }> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = await findSubscription(deps, caller.principal, id);
  requireActive(sub);
  const eventId = newId('evt');
  const event: StoredEvent = {
    payload: {
      id: eventId,
      type: TEST_EVENT_TYPE,
      timestamp: new Date().toISOString(),
      data: {
        source: 'bridge',
        resource: 'test',
        id: eventId,
        object: { id: eventId, message: 'A test event sent from the clinic-event-bridge console' },
      },
    },
    dispatched: true,
  };
  const created = await deps.store.transaction((tx) => {
    tx.appendEvents([event]);
    const created = deps.dispatcher.replay(tx, [{ eventId, subscriptionId: sub.id }]);
    recordAudit(tx, caller, 'subscription.test_sent', sub.id, { event_id: eventId });
    return created;
  });
  deps.dispatcher.created(created);
  return { event_id: eventId, delivery: created[0]! };
}

/**
 * Unsubscribes a REST hook (`DELETE /v1/hooks/:id`): only a hook the caller may see, so a hook
 * client's key reaches no other subscription this way. Needs `subscriptions:write`.
 * @throws ApiError 404 `not_found` for anything that is not such a hook
 */
export async function deleteHook(deps: ServiceDeps, caller: Caller, id: string): Promise<void> {
  requireScopes(caller.principal, 'subscriptions:write');
  const sub = await deps.store.getSubscription(id);
  if (!sub || !isHook(sub) || !canSee(caller.principal, sub)) throw new ApiError(404, 'not_found', `No hook ${id}`);
  await deleteSubscription(deps, caller, id);
}

import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { generateSecret } from '../../delivery/sign.js';
import { UnsafeUrlError } from '../../delivery/ssrf.js';
import type { Delivery, Subscription } from '../../store/schema.js';
import { newId } from '../../util/ids.js';
import { audit } from '../audit.js';
import { canSee, principalOf } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { createRouter, errors, idParam, json, jsonBody } from '../openapi.js';
import { apiPage, decodeCursor } from '../pagination.js';
import { pageNewestFirst } from '../../store/page.js';
import { byId } from '../../store/store.js';
import { Delivery as DeliverySchema, EventPattern, isoTime, page, pageQuery, RotatedSecret, Secret, Subscription as SubscriptionSchema, SubscriptionWithSecret } from '../schemas.js';

const eventTypes = z.array(EventPattern).min(1, 'must list at least one event type').max(100);
const url = z.string().max(2048).url('must be an absolute http(s) URL').openapi({ description: 'Where events are POSTed. Private and loopback addresses are refused unless `BRIDGE_ALLOW_PRIVATE_URLS=true`.', example: 'https://example.com/webhooks/cliniko' });
const description = z.string().max(500).nullable();
/** Headers the bridge owns: a subscription's custom headers can never set these. */
const RESERVED_HEADER = /^(webhook-.*|content-type|content-length|user-agent|host|connection|transfer-encoding|keep-alive|upgrade|te|trailer)$/i;
const headers = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name')
      .refine((name) => !RESERVED_HEADER.test(name), 'is set by the bridge and cannot be overridden'),
    z.string().max(1024).regex(/^[^\r\n]*$/, 'must not contain line breaks'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 custom headers');
const options = {
  headers: headers.optional(),
  rate_limit_per_second: z.number().int().min(1).max(10_000).nullable().optional(),
  max_in_flight: z.number().int().min(1).max(1000).nullable().optional(),
  ordering: z.enum(['none', 'per_record']).optional(),
  payload: z.enum(['full', 'thin']).optional(),
  fields: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, 'must be a top-level field name')).min(1).max(200).nullable().optional(),
};
const createBody = z
  .strictObject({ url, event_types: eventTypes.default(['*']), description: description.optional(), ...options })
  .openapi('NewSubscription', { example: { url: 'https://example.com/webhooks/cliniko', event_types: ['individual_appointment.*'], description: 'Front desk board' } });
const patchBody = z
  .strictObject({
    url: url.optional(),
    event_types: eventTypes.optional(),
    description: description.optional(),
    status: z.enum(['active', 'disabled']).optional().openapi({ description: '`active` re-enables: its pending deliveries resume.' }),
    ...options,
  })
  .openapi('SubscriptionChange', { example: { status: 'active', event_types: ['*'] } });
const deliveriesQuery = z.object({ status: z.enum(['pending', 'succeeded', 'failed']).optional(), ...pageQuery });
const recoverBody = z.strictObject({ since: isoTime, until: isoTime.optional() }).openapi('Recover', { example: { since: '2026-11-23T00:00:00Z' } });
/** A rotated-out secret keeps signing this long unless the request says otherwise (Svix's default: 24 h). */
const DEFAULT_GRACE_SECONDS = 86_400;
const rotateBody = z
  .strictObject({
    grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional()
      .openapi({ description: `How long the old secret also signs (seconds, 0–30 days; default ${DEFAULT_GRACE_SECONDS}).` }),
  })
  .openapi('Rotate', { example: { grace_period_seconds: 86400 } });
const subId = { params: idParam('sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A', 'Subscription id') };
const tags = ['Subscriptions'];

const routes = {
  create: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: 'Create a subscription',
    description: 'Answers with its signing secret. Durable before it answers.',
    request: jsonBody(createBody),
    responses: { 201: json(SubscriptionWithSecret, 'Created.'), ...errors({ 422: 'The URL is refused by the SSRF guard (`unsafe_url`).' }) },
  }),
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: 'List subscriptions',
    request: { query: z.object(pageQuery) },
    responses: { 200: json(page(SubscriptionSchema, 'SubscriptionPage'), 'Newest first.') },
  }),
  get: createRoute({ method: 'get', path: '/{id}', tags, summary: 'Get a subscription', request: subId, responses: { 200: json(SubscriptionSchema, 'The subscription.'), ...errors({ 404: 'No such subscription (`not_found`).' }) } }),
  secret: createRoute({
    method: 'get',
    path: '/{id}/secret',
    tags,
    summary: 'Reveal the signing secret',
    request: subId,
    responses: { 200: json(Secret, 'The current secret.'), ...errors({ 404: 'No such subscription (`not_found`).' }) },
  }),
  rotate: createRoute({
    method: 'post',
    path: '/{id}/secret/rotate',
    tags,
    summary: 'Rotate the signing secret',
    description: 'During the grace period every delivery carries two signatures, old and new (Standard Webhooks).',
    request: { ...subId, ...jsonBody(rotateBody, { optional: true }) },
    responses: { 200: json(RotatedSecret, 'The new secret.'), ...errors({ 404: 'No such subscription (`not_found`).' }) },
  }),
  update: createRoute({
    method: 'patch',
    path: '/{id}',
    tags,
    summary: 'Change a subscription',
    description: 'Only the fields given change. `status: active` re-enables a disabled subscription.',
    request: { ...subId, ...jsonBody(patchBody, { optional: true }) },
    responses: { 200: json(SubscriptionSchema, 'The changed subscription.'), ...errors({ 404: 'No such subscription (`not_found`).', 422: 'The URL is refused by the SSRF guard (`unsafe_url`).' }) },
  }),
  delete: createRoute({
    method: 'delete',
    path: '/{id}',
    tags,
    summary: 'Delete a subscription',
    description: 'Its pending deliveries are never sent.',
    request: subId,
    responses: { 204: { description: 'Deleted.' }, ...errors({ 404: 'No such subscription (`not_found`).' }) },
  }),
  deliveries: createRoute({
    method: 'get',
    path: '/{id}/deliveries',
    tags,
    summary: "List a subscription's deliveries",
    request: { ...subId, query: deliveriesQuery },
    responses: { 200: json(page(DeliverySchema, 'DeliveryPage'), 'Newest first.'), ...errors({ 404: 'No such subscription (`not_found`).' }) },
  }),
  recover: createRoute({
    method: 'post',
    path: '/{id}/recover',
    tags,
    summary: 'Retry failed deliveries of a time range',
    description: 'Every `failed` delivery created in [since, until) gets one more attempt now.',
    request: { ...subId, ...jsonBody(recoverBody) },
    responses: {
      202: json(z.object({ deliveries: z.number().int() }).openapi({ example: { deliveries: 3 } }), 'How many deliveries were queued.'),
      ...errors({ 404: 'No such subscription (`not_found`).', 409: 'The subscription is disabled (`subscription_disabled`).' }),
    },
  }),
};

const retryRoute = createRoute({
  method: 'post',
  path: '/{id}/retry',
  tags: ['Deliveries'],
  summary: 'Retry a delivery now',
  description: 'One more attempt now; a `failed` delivery stays `failed` if it fails again.',
  request: { params: idParam('dlv_01JD5Q4B3X9RZ2Y8W7V6T5S4R3', 'Delivery id') },
  responses: {
    202: json(DeliverySchema, 'The delivery, queued.'),
    ...errors({ 404: 'No such delivery (`not_found`).', 409: 'It already succeeded (`already_succeeded`), or its subscription is disabled (`subscription_disabled`).' }),
  },
});

/**
 * A subscription as the API shows it: everything but its secrets (`GET …/secret` reveals the current
 * one). Custom header values are masked: they often carry the receiver's own credentials.
 */
export function publicSubscription(s: Subscription) {
  const { secret: _secret, previous_secrets, headers, ...rest } = s;
  const masked = Object.fromEntries(Object.keys(headers).map((name) => [name, '[hidden]']));
  return { ...rest, headers: masked, previous_secret_expires_at: previous_secrets.at(-1)?.expires_at ?? null };
}

/** A delivery's state as an event lists it, without attempts (`GET /v1/events/{id}/attempts` has them). */
export function deliverySummary(d: Delivery) {
  const { attempts: _a, final_attempt: _f, ...rest } = d;
  return rest;
}

/** A delivery as the API shows it: its state and its last attempt, not the whole history. */
export function publicDelivery(d: Delivery) {
  return { ...deliverySummary(d), last_attempt: d.attempts.at(-1) ?? null };
}

export type NewSubscription = z.output<typeof createBody> & { kind?: Subscription['kind'] };

/** A subscription the caller may see. @throws ApiError 404 for an unknown one or another key's. */
export async function findSubscription(deps: AdminDeps, c: Context, id: string): Promise<Subscription> {
  const s = await deps.store.getSubscription(id);
  // Another key's subscription is as unknown as a missing one.
  if (!s || !canSee(c, s)) throw new ApiError(404, 'not_found', `No subscription ${id}`);
  return s;
}

/** The SSRF guard for a subscriber URL. @throws ApiError 422 `unsafe_url` */
async function checkSubscriberUrl(deps: AdminDeps, raw: string): Promise<void> {
  try {
    await deps.policy.check(raw);
  } catch (err) {
    if (err instanceof UnsafeUrlError) throw new ApiError(422, 'unsafe_url', err.message);
    throw err;
  }
}

/**
 * Creates a subscription owned by the caller (its API key, or none for the admin token): SSRF check,
 * defaults, a new secret, audit, durable before it returns. Used by `/v1/subscriptions` and `/v1/hooks`.
 * @throws ApiError 422 `unsafe_url`
 */
export async function createSubscription(deps: AdminDeps, c: Context, body: NewSubscription): Promise<Subscription> {
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
    owner: principalOf(c).keyId,
    created_at: at,
    updated_at: at,
  };
  await store.transaction((tx) => {
    tx.putSubscription(sub);
    audit(tx, c, 'subscription.created', sub.id, { url: sub.url, event_types: sub.event_types });
  });
  await deps.worker.refresh();
  deps.logger.info({ subscription: sub.id, event_types: sub.event_types }, 'subscription created');
  return sub;
}

/** Deletes a subscription with its deliveries (pending ones are never sent); audited, durable before it returns. */
export async function deleteSubscription(deps: AdminDeps, c: Context, sub: Subscription): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.deleteSubscription(sub.id);
    audit(tx, c, 'subscription.deleted', sub.id, { url: sub.url });
  });
  await deps.worker.refresh();
  deps.logger.info({ subscription: sub.id }, 'subscription deleted');
}

/** `/v1/subscriptions`: create, list, read, change, delete, secrets, deliveries and recover. */
export function subscriptionRoutes(deps: AdminDeps) {
  const { store, worker } = deps;
  const find = (c: Context, id: string) => findSubscription(deps, c, id);
  const now = () => new Date().toISOString();

  return createRouter()
    .openapi(routes.create, async (c) => {
      const sub = await createSubscription(deps, c, c.req.valid('json'));
      return c.json({ ...publicSubscription(sub), secret: sub.secret }, 201);
    })
    .openapi(routes.list, async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const all = (await store.listSubscriptions()).filter((s) => canSee(c, s)).sort(byId);
      const page = pageNewestFirst(all, (s) => s.id, () => true, limit, cursor ? decodeCursor(cursor, 'sub') : undefined);
      return c.json(apiPage(page, publicSubscription), 200);
    })
    .openapi(routes.get, async (c) => c.json(publicSubscription(await find(c, c.req.valid('param').id)), 200))
    .openapi(routes.secret, async (c) => c.json({ secret: (await find(c, c.req.valid('param').id)).secret }, 200))
    .openapi(routes.rotate, async (c) => {
      const sub = await find(c, c.req.valid('param').id);
      const { grace_period_seconds = DEFAULT_GRACE_SECONDS } = c.req.valid('json');
      const nowMs = Date.now();
      const kept = sub.previous_secrets.filter((p) => Date.parse(p.expires_at) > nowMs);
      const expires_at = new Date(nowMs + grace_period_seconds * 1000).toISOString();
      const rotated: Subscription = {
        ...sub,
        previous_secrets: grace_period_seconds > 0 ? [...kept, { secret: sub.secret, expires_at }] : kept,
        secret: generateSecret(),
        updated_at: new Date(nowMs).toISOString(),
      };
      await store.transaction((tx) => {
        tx.putSubscription(rotated);
        audit(tx, c, 'subscription.secret_rotated', sub.id, { grace_period_seconds });
      });
      deps.logger.info({ subscription: sub.id, grace_period_seconds }, 'subscription secret rotated');
      return c.json({ secret: rotated.secret, previous_secret_expires_at: grace_period_seconds > 0 ? expires_at : null }, 200);
    })
    .openapi(routes.update, async (c) => {
      const current = await find(c, c.req.valid('param').id);
      const body = c.req.valid('json');
      if (body.url !== undefined) await checkSubscriberUrl(deps, body.url);
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
        sub.disabled_at = body.status === 'disabled' ? now() : null;
        // Re-enabled: its failing window starts again, and its pending work resumes.
        if (body.status === 'active') sub.failing_since = null;
      }
      sub.updated_at = now();
      await store.transaction(async (tx) => {
        // Keep what the worker recorded meanwhile (its failing window) unless this request set it.
        const latest = await tx.getSubscription(sub.id);
        tx.putSubscription(body.status === undefined && latest ? { ...sub, failing_since: latest.failing_since, status: latest.status, disabled_reason: latest.disabled_reason, disabled_at: latest.disabled_at } : sub);
        audit(tx, c, 'subscription.updated', sub.id, { fields: Object.keys(body) });
      });
      await worker.refresh();
      return c.json(publicSubscription((await store.getSubscription(sub.id)) ?? sub), 200);
    })
    .openapi(routes.delete, async (c) => {
      await deleteSubscription(deps, c, await find(c, c.req.valid('param').id));
      return c.body(null, 204);
    })
    .openapi(routes.deliveries, async (c) => {
      const sub = await find(c, c.req.valid('param').id);
      const { status, limit, cursor } = c.req.valid('query');
      const page = await store.listDeliveries({ subscription_id: sub.id, status, limit, before: cursor ? decodeCursor(cursor, 'dlv') : undefined });
      return c.json(apiPage(page, publicDelivery), 200);
    })
    .openapi(routes.recover, async (c) => {
      const sub = await find(c, c.req.valid('param').id);
      if (sub.status !== 'active') throw new ApiError(409, 'subscription_disabled', `Subscription ${sub.id} is disabled; enable it first`);
      const { since, until } = c.req.valid('json');
      const from = Date.parse(since);
      const to = until ? Date.parse(until) : Infinity;
      if (to <= from) throw new ApiError(400, 'invalid_request', 'until must be after since');
      let count = 0;
      const { data: failed } = await store.listDeliveries({ subscription_id: sub.id, status: 'failed' });
      for (const d of failed.reverse()) {
        const created = Date.parse(d.created_at);
        if (created < from || created >= to) continue;
        if (await worker.retryNow(d.id)) count += 1;
      }
      await store.transaction((tx) => audit(tx, c, 'subscription.recovered', sub.id, { since, until: until ?? null, deliveries: count }));
      deps.logger.info({ subscription: sub.id, deliveries: count }, 'recover requested');
      return c.json({ deliveries: count }, 202);
    });
}

/** `/v1/deliveries/:id/retry`: one more attempt now. */
export function deliveryRoutes(deps: AdminDeps) {
  return createRouter().openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const d = await deps.store.getDelivery(id);
    const owner = d ? await deps.store.getSubscription(d.subscription_id) : undefined;
    if (!d || (owner && !canSee(c, owner))) throw new ApiError(404, 'not_found', `No delivery ${id}`);
    if (d.status === 'succeeded') throw new ApiError(409, 'already_succeeded', `Delivery ${id} already succeeded; replay its event instead`);
    if (owner?.status !== 'active') {
      throw new ApiError(409, 'subscription_disabled', `Subscription ${d.subscription_id} is disabled; enable it first`);
    }
    await deps.worker.retryNow(id);
    await deps.store.transaction((tx) => audit(tx, c, 'delivery.retried', id, { event_id: d.event_id, subscription_id: d.subscription_id }));
    return c.json(publicDelivery((await deps.store.getDelivery(id)) ?? d), 202);
  });
}

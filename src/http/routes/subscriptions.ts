import { createRoute, z } from '@hono/zod-openapi';
import type { Delivery, Subscription } from '../../store/schema.js';
import { retryDelivery } from '../../services/deliveries.js';
import {
  DEFAULT_GRACE_SECONDS,
  MAX_GRACE_SECONDS,
  NewSubscriptionBody,
  SubscriptionChangeBody,
} from '../../services/subscription-input.js';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  recoverFailed,
  revealSecret,
  rotateSecret,
  subscriptionDeliveries,
  updateSubscription,
} from '../../services/subscriptions.js';
import { callerOf, principalOf } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { createRouter, errors, idParam, json, jsonBody, URL_REFUSED } from '../openapi.js';
import { apiPage, decodeCursor } from '../pagination.js';
import {
  Delivery as DeliverySchema,
  isoTime,
  page,
  pageQuery,
  RotatedSecret,
  Secret,
  Subscription as SubscriptionSchema,
  SubscriptionWithSecret,
} from '../schemas.js';

// The bodies are the services' schemas (src/services/subscription-input.ts), shared with the console.
const createBody = NewSubscriptionBody;
const patchBody = SubscriptionChangeBody;
const deliveriesQuery = z.object({ status: z.enum(['pending', 'succeeded', 'failed']).optional(), ...pageQuery });
const recoverBody = z
  .strictObject({ since: isoTime, until: isoTime.optional() })
  .openapi('Recover', { example: { since: '2026-11-23T00:00:00Z' } });
const rotateBody = z
  .strictObject({
    grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_SECONDS)
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
    responses: { 201: json(SubscriptionWithSecret, 'Created.'), ...errors({ 422: URL_REFUSED }) },
  }),
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: 'List subscriptions',
    request: { query: z.object(pageQuery) },
    responses: { 200: json(page(SubscriptionSchema, 'SubscriptionPage'), 'Newest first.') },
  }),
  get: createRoute({
    method: 'get',
    path: '/{id}',
    tags,
    summary: 'Get a subscription',
    request: subId,
    responses: { 200: json(SubscriptionSchema, 'The subscription.'), ...errors({ 404: 'No such subscription (`not_found`).' }) },
  }),
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
    responses: {
      200: json(SubscriptionSchema, 'The changed subscription.'),
      ...errors({ 404: 'No such subscription (`not_found`).', 422: URL_REFUSED }),
    },
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
    responses: {
      200: json(page(DeliverySchema, 'DeliveryPage'), 'Newest first.'),
      ...errors({ 404: 'No such subscription (`not_found`).' }),
    },
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
    ...errors({
      404: 'No such delivery (`not_found`).',
      409: 'It already succeeded (`already_succeeded`), or its subscription is disabled (`subscription_disabled`).',
    }),
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

/** `/v1/subscriptions`: create, list, read, change, delete, secrets, deliveries and recover — each a service call (src/services/subscriptions.ts). */
export function subscriptionRoutes(deps: AdminDeps) {
  return createRouter()
    .openapi(routes.create, async (c) => {
      const sub = await createSubscription(deps, callerOf(c), c.req.valid('json'));
      return c.json({ ...publicSubscription(sub), secret: sub.secret }, 201);
    })
    .openapi(routes.list, async (c) => {
      const { limit, cursor } = c.req.valid('query');
      const page = await listSubscriptions(deps, principalOf(c), limit, cursor ? decodeCursor(cursor, 'sub') : undefined);
      return c.json(apiPage(page, publicSubscription), 200);
    })
    .openapi(routes.get, async (c) => c.json(publicSubscription(await getSubscription(deps, principalOf(c), c.req.valid('param').id)), 200))
    .openapi(routes.secret, async (c) => c.json({ secret: await revealSecret(deps, principalOf(c), c.req.valid('param').id) }, 200))
    .openapi(routes.rotate, async (c) => {
      const { grace_period_seconds = DEFAULT_GRACE_SECONDS } = c.req.valid('json');
      return c.json(await rotateSecret(deps, callerOf(c), c.req.valid('param').id, grace_period_seconds), 200);
    })
    .openapi(routes.update, async (c) =>
      c.json(publicSubscription(await updateSubscription(deps, callerOf(c), c.req.valid('param').id, c.req.valid('json'))), 200),
    )
    .openapi(routes.delete, async (c) => {
      await deleteSubscription(deps, callerOf(c), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(routes.deliveries, async (c) => {
      const { status, limit, cursor } = c.req.valid('query');
      const page = await subscriptionDeliveries(deps, principalOf(c), c.req.valid('param').id, {
        status,
        limit,
        before: cursor ? decodeCursor(cursor, 'dlv') : undefined,
      });
      return c.json(apiPage(page, publicDelivery), 200);
    })
    .openapi(routes.recover, async (c) => {
      const { since, until } = c.req.valid('json');
      return c.json({ deliveries: await recoverFailed(deps, callerOf(c), c.req.valid('param').id, since, until) }, 202);
    });
}

/** `/v1/deliveries/:id/retry`: one more attempt now. */
export function deliveryRoutes(deps: AdminDeps) {
  return createRouter().openapi(retryRoute, async (c) =>
    c.json(publicDelivery(await retryDelivery(deps, callerOf(c), c.req.valid('param').id)), 202),
  );
}

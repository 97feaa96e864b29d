import { createRoute, z } from '@hono/zod-openapi';
import { eventAttempts, getEvent, listEvents, replayEvent, replayRange } from '../../services/events.js';
import { callerOf, principalOf } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { createRouter, errors, idParam, json, jsonBody } from '../openapi.js';
import { decodeCursor, apiPage } from '../pagination.js';
import { deliverySummary } from './subscriptions.js';
import { AttemptWithDelivery, EventPayload, EventTypePattern, EventWithDeliveries, isoTime, page, pageQuery } from '../schemas.js';

const listQuery = z.object({
  // Optional filters carry no example: Swagger UI's Try it out would pre-fill them.
  type: EventTypePattern.optional().openapi({ description: 'An event type or `resource.*`, e.g. `individual_appointment.*`.' }),
  resource: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'must be a resource name such as individual_appointment')
    .optional()
    .openapi({ description: 'A source resource, e.g. `individual_appointment`.' }),
  resource_id: z.string().min(1).optional().openapi({ description: 'The record id at the source.' }),
  since: isoTime.optional().openapi({ description: 'Detected at or after (UTC).' }),
  until: isoTime.optional().openapi({ description: 'Detected before (UTC).' }),
  ...pageQuery,
});
const replayOne = z
  .strictObject({
    subscription_id: z.string().optional().openapi({ description: 'Only to this subscription; default: every active one that matches.' }),
    force: z.boolean().optional().openapi({
      description:
        "With `subscription_id`: replay even when the subscription's `event_types` do not select this event's type (otherwise 409 `event_type_not_subscribed`).",
    }),
  })
  .openapi('ReplayEvent', { example: { subscription_id: 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' } });
const replayMany = z
  .strictObject({
    since: isoTime,
    until: isoTime.optional(),
    subscription_id: z.string().optional(),
    event_types: z.array(EventTypePattern).min(1).optional(),
  })
  .openapi('ReplayRange', { example: { since: '2026-11-23T00:00:00Z', subscription_id: 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' } });
const eventId = { params: idParam('evt_01JD5Q4B2C3D4E5F6G7H8J9K0M', 'Event id') };
const tags = ['Events'];
const disabled = 'The subscription is disabled (`subscription_disabled`).';

const routes = {
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: 'List events',
    description:
      'Newest first, filtered by type, resource, record id and detection time. API keys limited to their own subscriptions see only events delivered to them, shaped as delivered.',
    request: { query: listQuery },
    responses: { 200: json(page(EventPayload, 'EventPage'), 'Newest first.') },
  }),
  get: createRoute({
    method: 'get',
    path: '/{id}',
    tags,
    summary: 'Get an event with its deliveries',
    request: eventId,
    responses: { 200: json(EventWithDeliveries, 'The event body and its deliveries.'), ...errors({ 404: 'No such event (`not_found`).' }) },
  }),
  attempts: createRoute({
    method: 'get',
    path: '/{id}/attempts',
    tags,
    summary: "List an event's delivery attempts",
    request: eventId,
    responses: {
      200: json(z.object({ data: z.array(AttemptWithDelivery) }), 'Oldest first.'),
      ...errors({ 404: 'No such event (`not_found`).' }),
    },
  }),
  replay: createRoute({
    method: 'post',
    path: '/{id}/replay',
    tags,
    summary: 'Replay an event',
    description:
      "New deliveries with the same event id and body (receivers deduplicate on `webhook-id`). To one subscription only if it is subscribed to the event's type, unless `force` is true.",
    request: { ...eventId, ...jsonBody(replayOne, { optional: true }) },
    responses: {
      202: json(
        z.object({ event_id: z.string(), deliveries: z.array(z.object({ id: z.string(), subscription_id: z.string() })) }).openapi({
          example: {
            event_id: 'evt_01JD5Q4B2C3D4E5F6G7H8J9K0M',
            deliveries: [{ id: 'dlv_01JD5Q4B3X9RZ2Y8W7V6T5S4R3', subscription_id: 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' }],
          },
        }),
        'The deliveries created.',
      ),
      ...errors({
        404: 'No such event, or no such subscription (`not_found`).',
        409: "The subscription is disabled (`subscription_disabled`), or its `event_types` do not select the event's type and `force` is not true (`event_type_not_subscribed`).",
      }),
    },
  }),
  replayRange: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: 'Replay the events of a time range',
    description: 'Every event detected in [since, until), optionally of some types, to every matching active subscription (or one).',
    request: jsonBody(replayMany),
    responses: {
      202: json(
        z.object({ events: z.number().int(), deliveries: z.number().int() }).openapi({ example: { events: 12, deliveries: 12 } }),
        'How many were queued.',
      ),
      ...errors({ 404: 'No such subscription (`not_found`).', 409: disabled }),
    },
  }),
};

/** `/v1/events` and `/v1/replay`: the event log, attempt history and redelivery — each a service call (src/services/events.ts). */
export function eventRoutes(deps: AdminDeps) {
  const events = createRouter()
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const page = await listEvents(deps, principalOf(c), q, q.limit, q.cursor ? decodeCursor(q.cursor, 'evt') : undefined);
      return c.json(
        apiPage(page, (e) => e.payload),
        200,
      );
    })
    .openapi(routes.get, async (c) => {
      const e = await getEvent(deps, principalOf(c), c.req.valid('param').id);
      return c.json({ ...e.payload, deliveries: e.deliveries.map(deliverySummary) }, 200);
    })
    .openapi(routes.attempts, async (c) => c.json({ data: await eventAttempts(deps, principalOf(c), c.req.valid('param').id) }, 200))
    .openapi(routes.replay, async (c) => {
      const id = c.req.valid('param').id;
      const created = await replayEvent(deps, callerOf(c), id, c.req.valid('json'));
      return c.json({ event_id: id, deliveries: created.map((d) => ({ id: d.id, subscription_id: d.subscription_id })) }, 202);
    });

  const replay = createRouter().openapi(routes.replayRange, async (c) =>
    c.json(await replayRange(deps, callerOf(c), c.req.valid('json')), 202),
  );

  return { events, replay };
}

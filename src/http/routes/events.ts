import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { matchesEventType } from '../../delivery/match.js';
import type { StoredEvent } from '../../store/schema.js';
import { audit } from '../audit.js';
import { canSee, eventReader } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
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
  .strictObject({ subscription_id: z.string().optional().openapi({ description: 'Only to this subscription; default: every active one that matches.' }) })
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
    description: 'Newest first, filtered by type, resource, record id and detection time. API keys limited to their own subscriptions see only events delivered to them, shaped as delivered.',
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
    responses: { 200: json(z.object({ data: z.array(AttemptWithDelivery) }), 'Oldest first.'), ...errors({ 404: 'No such event (`not_found`).' }) },
  }),
  replay: createRoute({
    method: 'post',
    path: '/{id}/replay',
    tags,
    summary: 'Replay an event',
    description: 'New deliveries with the same event id and body (receivers deduplicate on `webhook-id`).',
    request: { ...eventId, ...jsonBody(replayOne, { optional: true }) },
    responses: {
      202: json(
        z.object({ event_id: z.string(), deliveries: z.array(z.object({ id: z.string(), subscription_id: z.string() })) }).openapi({
          example: { event_id: 'evt_01JD5Q4B2C3D4E5F6G7H8J9K0M', deliveries: [{ id: 'dlv_01JD5Q4B3X9RZ2Y8W7V6T5S4R3', subscription_id: 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' }] },
        }),
        'The deliveries created.',
      ),
      ...errors({ 404: 'No such event, or no such subscription (`not_found`).', 409: disabled }),
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
      202: json(z.object({ events: z.number().int(), deliveries: z.number().int() }).openapi({ example: { events: 12, deliveries: 12 } }), 'How many were queued.'),
      ...errors({ 404: 'No such subscription (`not_found`).', 409: disabled }),
    },
  }),
};

/** `/v1/events` and `/v1/replay`: the event log, attempt history and redelivery. */
export function eventRoutes(deps: AdminDeps) {
  const { store, dispatcher } = deps;
  const find = async (id: string): Promise<StoredEvent> => {
    const e = await store.getEvent(id);
    if (!e) throw new ApiError(404, 'not_found', `No event ${id}`);
    return e;
  };
  const deliveriesOf = async (c: Context, eventId: string) => {
    const { data } = await store.listDeliveries({ event_id: eventId });
    const out = [];
    for (const d of data.reverse()) {
      const sub = await store.getSubscription(d.subscription_id);
      if (!sub || canSee(c, sub)) out.push(d);
    }
    return out;
  };
  const activeSubscription = async (c: Context, id: string) => {
    const sub = await store.getSubscription(id);
    if (!sub || !canSee(c, sub)) throw new ApiError(404, 'not_found', `No subscription ${id}`);
    if (sub.status !== 'active') throw new ApiError(409, 'subscription_disabled', `Subscription ${id} is disabled; enable it first`);
    return sub;
  };
  const activeVisible = async (c: Context) => (await store.listSubscriptions()).filter((s) => s.status === 'active' && canSee(c, s));

  const events = createRouter()
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      const reader = await eventReader(c, store);
      const page = await store.listEvents({
        limit: q.limit,
        before: q.cursor ? decodeCursor(q.cursor, 'evt') : undefined,
        types: q.type ? [q.type] : undefined,
        resource: q.resource,
        record_id: q.resource_id,
        since: q.since ? new Date(q.since).toISOString() : undefined,
        until: q.until ? new Date(q.until).toISOString() : undefined,
        delivered_to: reader.deliveredTo ?? undefined,
      });
      const data = [];
      for (const e of page.data) {
        const body = await reader.read(e.payload);
        if (body) data.push(body);
      }
      return c.json(apiPage({ data, next: page.next }), 200);
    })
    .openapi(routes.get, async (c) => {
      const e = await find(c.req.valid('param').id);
      const body = await (await eventReader(c, store)).read(e.payload);
      if (!body) throw new ApiError(404, 'not_found', `No event ${e.payload.id}`);
      const deliveries = (await deliveriesOf(c, e.payload.id)).map(deliverySummary);
      return c.json({ ...body, deliveries }, 200);
    })
    .openapi(routes.attempts, async (c) => {
      const e = await find(c.req.valid('param').id);
      const data = (await deliveriesOf(c, e.payload.id))
        .flatMap((d) => d.attempts.map((a) => ({ ...a, delivery_id: d.id, subscription_id: d.subscription_id })))
        .sort((a, b) => a.id.localeCompare(b.id));
      return c.json({ data }, 200);
    })
    .openapi(routes.replay, async (c) => {
      const e = await find(c.req.valid('param').id);
      const { subscription_id } = c.req.valid('json');
      const targets = subscription_id
        ? [await activeSubscription(c, subscription_id)]
        : (await activeVisible(c)).filter((s) => matchesEventType(s.event_types, e.payload.type));
      const created = await store.transaction((tx) => {
        const created = dispatcher.replay(tx, targets.map((s) => ({ eventId: e.payload.id, subscriptionId: s.id })));
        audit(tx, c, 'event.replayed', e.payload.id, { subscriptions: targets.map((s) => s.id) });
        return created;
      });
      dispatcher.created(created);
      return c.json({ event_id: e.payload.id, deliveries: created.map((d) => ({ id: d.id, subscription_id: d.subscription_id })) }, 202);
    });

  const replay = createRouter().openapi(routes.replayRange, async (c) => {
    const body = c.req.valid('json');
    const since = Date.parse(body.since);
    const until = body.until ? Date.parse(body.until) : Infinity;
    if (until <= since) throw new ApiError(400, 'invalid_request', 'until must be after since');
    const subs = body.subscription_id ? [await activeSubscription(c, body.subscription_id)] : await activeVisible(c);
    const { data: window } = await store.listEvents({
      since: new Date(since).toISOString(),
      until: Number.isFinite(until) ? new Date(until).toISOString() : undefined,
      types: body.event_types,
    });
    const targets: Array<{ eventId: string; subscriptionId: string }> = [];
    let eventCount = 0;
    for (const e of window.reverse()) {
      const matching = subs.filter((s) => matchesEventType(s.event_types, e.payload.type));
      if (matching.length === 0) continue;
      eventCount += 1;
      for (const s of matching) targets.push({ eventId: e.payload.id, subscriptionId: s.id });
    }
    const created = await store.transaction((tx) => {
      const created = dispatcher.replay(tx, targets);
      audit(tx, c, 'events.replayed', body.subscription_id ?? null, { since: body.since, until: body.until ?? null, event_types: body.event_types ?? null, events: eventCount, deliveries: created.length });
      return created;
    });
    dispatcher.created(created);
    return c.json({ events: eventCount, deliveries: created.length }, 202);
  });

  return { events, replay };
}

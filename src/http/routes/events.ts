import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { matchesEventType, EVENT_TYPE_PATTERN } from '../../delivery/match.js';
import type { StoredEvent } from '../../store/schema.js';
import { audit } from '../audit.js';
import { canSee, eventReader } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { decodeCursor, pageNewestFirst, pageQuery } from '../pagination.js';
import { validate } from '../validate.js';

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-11-23T06:50:01Z' });

const listQuery = z.object({
  type: z.string().regex(EVENT_TYPE_PATTERN, 'must be "*", "resource.kind" or "resource.*"').optional(),
  resource: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a resource name such as individual_appointment').optional(),
  resource_id: z.string().min(1).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  ...pageQuery,
});
const replayOne = z.strictObject({ subscription_id: z.string().optional() });
const replayMany = z.strictObject({
  since: isoTime,
  until: isoTime.optional(),
  subscription_id: z.string().optional(),
  event_types: z.array(z.string().regex(EVENT_TYPE_PATTERN, 'must be "*", "resource.kind" or "resource.*"')).min(1).optional(),
});

/** `/v1/events` and `/v1/replay`: the event log, attempt history and redelivery. */
export function eventRoutes(deps: AdminDeps) {
  const { store, dispatcher } = deps;
  const find = (id: string): StoredEvent => {
    const e = store.getEvent(id);
    if (!e) throw new ApiError(404, 'not_found', `No event ${id}`);
    return e;
  };
  const deliveriesOf = (c: Context, eventId: string) =>
    Object.values(store.data.deliveries).filter((d) => {
      const sub = store.data.subscriptions[d.subscription_id];
      return d.event_id === eventId && (!sub || canSee(c, sub));
    });
  const activeSubscription = (c: Context, id: string) => {
    const sub = store.data.subscriptions[id];
    if (!sub || !canSee(c, sub)) throw new ApiError(404, 'not_found', `No subscription ${id}`);
    if (sub.status !== 'active') throw new ApiError(409, 'subscription_disabled', `Subscription ${id} is disabled; enable it first`);
    return sub;
  };

  const events = new Hono()
    .get('/', validate('query', listQuery), (c) => {
      const q = c.req.valid('query');
      const since = q.since ? Date.parse(q.since) : -Infinity;
      const until = q.until ? Date.parse(q.until) : Infinity;
      const keep = (e: StoredEvent) => {
        const t = Date.parse(e.payload.timestamp);
        return (
          (!q.type || matchesEventType([q.type], e.payload.type)) &&
          (!q.resource || e.payload.data.resource === q.resource) &&
          (!q.resource_id || e.payload.data.id === q.resource_id) &&
          t >= since &&
          t < until
        );
      };
      const read = eventReader(c, store);
      const visible = (e: StoredEvent) => keep(e) && read(e.payload) !== null;
      const page = pageNewestFirst(store.data.events, (e) => e.payload.id, visible, q.limit, q.cursor ? decodeCursor(q.cursor, 'evt') : undefined);
      return c.json({ data: page.data.map((e) => read(e.payload)!), next_cursor: page.next_cursor });
    })
    .get('/:id', (c) => {
      const e = find(c.req.param('id'));
      const body = eventReader(c, store)(e.payload);
      if (!body) throw new ApiError(404, 'not_found', `No event ${e.payload.id}`);
      const deliveries = deliveriesOf(c, e.payload.id).map(({ attempts: _a, ...d }) => d);
      return c.json({ ...body, deliveries });
    })
    .get('/:id/attempts', (c) => {
      const e = find(c.req.param('id'));
      const data = deliveriesOf(c, e.payload.id)
        .flatMap((d) => d.attempts.map((a) => ({ ...a, delivery_id: d.id, subscription_id: d.subscription_id })))
        .sort((a, b) => a.id.localeCompare(b.id));
      return c.json({ data });
    })
    .post('/:id/replay', validate('json', replayOne), async (c) => {
      const e = find(c.req.param('id'));
      const { subscription_id } = c.req.valid('json');
      const targets = subscription_id
        ? [activeSubscription(c, subscription_id)]
        : Object.values(store.data.subscriptions).filter((s) => s.status === 'active' && canSee(c, s) && matchesEventType(s.event_types, e.payload.type));
      const created = dispatcher.replay(targets.map((s) => ({ eventId: e.payload.id, subscriptionId: s.id })));
      audit(store, c, 'event.replayed', e.payload.id, { subscriptions: targets.map((s) => s.id) });
      await store.commit();
      return c.json({ event_id: e.payload.id, deliveries: created.map((d) => ({ id: d.id, subscription_id: d.subscription_id })) }, 202);
    });

  const replay = new Hono().post('/', validate('json', replayMany), async (c) => {
    const body = c.req.valid('json');
    const since = Date.parse(body.since);
    const until = body.until ? Date.parse(body.until) : Infinity;
    if (until <= since) throw new ApiError(400, 'invalid_request', 'until must be after since');
    const subs = body.subscription_id
      ? [activeSubscription(c, body.subscription_id)]
      : Object.values(store.data.subscriptions).filter((s) => s.status === 'active' && canSee(c, s));
    const targets: Array<{ eventId: string; subscriptionId: string }> = [];
    let eventCount = 0;
    for (const e of store.data.events) {
      const t = Date.parse(e.payload.timestamp);
      if (t < since || t >= until) continue;
      if (body.event_types && !matchesEventType(body.event_types, e.payload.type)) continue;
      const matching = subs.filter((s) => matchesEventType(s.event_types, e.payload.type));
      if (matching.length === 0) continue;
      eventCount += 1;
      for (const s of matching) targets.push({ eventId: e.payload.id, subscriptionId: s.id });
    }
    const created = dispatcher.replay(targets);
    audit(store, c, 'events.replayed', body.subscription_id ?? null, { since: body.since, until: body.until ?? null, event_types: body.event_types ?? null, events: eventCount, deliveries: created.length });
    await store.commit();
    return c.json({ events: eventCount, deliveries: created.length }, 202);
  });

  return { events, replay };
}

import { createRoute, z } from '@hono/zod-openapi';
import { EVENT_CATALOGUE } from '../../catalog/index.js';
import { matchesEventType } from '../../delivery/match.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { AdminDeps } from '../context.js';
import { HOOK_DESCRIPTION } from '../../delivery/hooks.js';
import { callerOf, principalOf } from '../auth.js';
import { recentEventBodies } from '../../services/events.js';
import { createSubscription, deleteHook } from '../../services/subscriptions.js';
import { createRouter, errors, idParam, json, jsonBody, URL_REFUSED } from '../openapi.js';
import { EventPattern, EventPayload as EventPayloadSchema } from '../schemas.js';

/** How many recent payloads `GET /v1/hooks/sample` returns (Zapier's editor shows 3). */
const SAMPLE_SIZE = 3;

const subscribeBody = z
  .strictObject({
    target_url: z.string().max(2048).url('must be an absolute http(s) URL'),
    event: EventPattern,
  })
  .openapi('HookSubscribe', {
    example: { target_url: 'https://hooks.zapier.com/hooks/standard/123456/abcdef/', event: 'individual_appointment.cancelled' },
  });
const HOOK_ID = 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A';
const tags = ['Zapier REST hooks'];

const routes = {
  subscribe: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: 'Subscribe a hook',
    description: 'A subscription of `target_url` to one event type or pattern, owned by the calling key.',
    request: jsonBody(subscribeBody),
    responses: {
      201: json(z.object({ id: z.string() }).openapi({ example: { id: HOOK_ID } }), 'Subscribed.'),
      ...errors({ 422: URL_REFUSED }),
    },
  }),
  sample: createRoute({
    method: 'get',
    path: '/sample',
    tags,
    summary: 'Recent payloads (perform list)',
    description: `Up to ${SAMPLE_SIZE} recent delivery bodies of the type, newest first, or one generated example when none has happened yet.`,
    request: { query: z.object({ event: EventPattern }) },
    responses: { 200: json(z.array(EventPayloadSchema), 'Delivery bodies, exactly as delivered.') },
  }),
  unsubscribe: createRoute({
    method: 'delete',
    path: '/{id}',
    tags,
    summary: 'Unsubscribe a hook',
    request: { params: idParam(HOOK_ID, 'Hook id (as `POST /v1/hooks` returned)') },
    responses: {
      200: json(
        z.object({ id: z.string(), deleted: z.literal(true) }).openapi({ example: { id: HOOK_ID, deleted: true } }),
        'Unsubscribed.',
      ),
      ...errors({ 404: 'No such hook (`not_found`).' }),
    },
  }),
};

/**
 * `/v1/hooks`: REST hooks as Zapier (and other no-code tools) use them. `POST` subscribes a target
 * URL to one event type or pattern and answers `201 { id }`; `DELETE /:id` unsubscribes
 * (`200 { id, deleted: true }`); `GET /sample?event=` returns up to three recent delivery bodies of
 * that type, newest first, or one example of it when none has happened yet ("perform list").
 *
 * A hook is a subscription, created and deleted by the same functions as `/v1/subscriptions` (SSRF
 * check, defaults, secret, owner, audit, removal of pending deliveries). A 410 from its target
 * removes it (src/delivery/worker.ts).
 */
export function hookRoutes(deps: AdminDeps) {
  return createRouter()
    .openapi(routes.subscribe, async (c) => {
      const { target_url, event } = c.req.valid('json');
      const { id } = await createSubscription(deps, callerOf(c), {
        url: target_url,
        event_types: [event],
        description: HOOK_DESCRIPTION,
        kind: 'hook',
      });
      deps.logger.info({ subscription: id, event }, 'hook subscribed');
      return c.json({ id }, 201);
    })
    .openapi(routes.sample, async (c) => {
      const { event } = c.req.valid('query');
      const recent = await recentEventBodies(deps, principalOf(c), event, SAMPLE_SIZE);
      return c.json(recent.length > 0 ? recent : [exampleOf(event)], 200);
    })
    .openapi(routes.unsubscribe, async (c) => {
      const { id } = c.req.valid('param');
      // Only hooks the caller may see: a hook client's key must not reach other subscriptions here.
      await deleteHook(deps, callerOf(c), id);
      deps.logger.info({ subscription: id }, 'hook unsubscribed');
      return c.json({ id, deleted: true as const }, 200);
    });
}

/**
 * One delivery body of the type (or of the first type the pattern selects) for a hook whose events
 * have not happened yet: the catalogue's example. Patterns are validated against the catalogue first.
 * @throws Error for a pattern no catalogued type matches.
 */
export function exampleOf(event: string): EventEnvelope {
  const documented = EVENT_CATALOGUE.find((doc) => matchesEventType([event], doc.type));
  if (!documented) throw new Error(`no catalogued event type matches ${event}`);
  // Catalogue examples always carry a previous version (never `previous_attributes: null`), which the
  // store's EventPayload type does not allow yet.
  return documented.example;
}

import { createRoute, z } from '@hono/zod-openapi';
import { EVENT_CATALOGUE } from '../../catalog/index.js';
import { createRouter, json } from '../openapi.js';
import { EventType } from '../schemas.js';

const body = { data: EVENT_CATALOGUE.map(({ type, description, example }) => ({ type, description, example })) };

const list = createRoute({
  method: 'get',
  path: '/',
  tags: ['Events'],
  summary: 'List event types',
  description: 'Every event type the bridge can deliver, with a description and an example delivery body.',
  responses: { 200: json(z.object({ data: z.array(EventType) }), 'The catalogue.') },
});

/** `GET /v1/event-types`: every event type with its description and an example delivery body. */
export function eventTypeRoutes() {
  return createRouter().openapi(list, (c) => c.json(body, 200));
}

import { Hono } from 'hono';
import { EVENT_CATALOGUE } from '../../catalog/index.js';

const body = { data: EVENT_CATALOGUE.map(({ type, description, example }) => ({ type, description, example })) };

/** `GET /v1/event-types`: every event type with its description and an example delivery body. */
export function eventTypeRoutes() {
  return new Hono().get('/', (c) => c.json(body));
}

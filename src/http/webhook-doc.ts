import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP } from '../delivery/sign.js';
import { EventPayload } from './schemas.js';

/**
 * Describes what the bridge POSTs to subscribers as the document's `webhooks.event` (OpenAPI 3.1),
 * so receivers can generate their side from `GET /openapi.json` too: the Standard Webhooks headers,
 * the body, and what each answer makes the bridge do (README "Delivery guarantees").
 */
export function describeDeliveries(app: OpenAPIHono): void {
  app.openAPIRegistry.registerWebhook({
    method: 'post',
    path: 'event',
    tags: ['Deliveries'],
    summary: 'An event, POSTed to a subscription URL',
    description:
      'Signed per Standard Webhooks: verify with `new Webhook(secret).verify(body, headers)` (package `standardwebhooks`) on the raw body. Retried on the subscription schedule until a 2xx; the same `webhook-id` on every retry and replay, so deduplicate on it.',
    request: {
      headers: z.object({
        [HEADER_ID]: z.string().openapi({ description: 'The event id: the idempotency key.', example: 'evt_01JD5Q4B2C3D4E5F6G7H8J9K0M' }),
        [HEADER_TIMESTAMP]: z.string().openapi({ description: 'UNIX seconds of this attempt.', example: '1795416601' }),
        [HEADER_SIGNATURE]: z.string().openapi({
          description: 'Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per secret (two during a rotation).',
          example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
        }),
      }),
      body: { content: { 'application/json': { schema: EventPayload } }, required: true },
    },
    responses: {
      200: { description: 'Any 2xx acknowledges the event; the body is ignored.' },
      410: { description: 'Gone: a REST hook is removed, a subscription disabled.' },
      default: {
        description:
          "Anything else, a timeout (`BRIDGE_DELIVERY_TIMEOUT`) or a redirect: retried later. `Retry-After` on a 429 or 503 is honoured, capped at the schedule's longest delay.",
      },
    },
  });
}

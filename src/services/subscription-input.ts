import { z } from '@hono/zod-openapi';
import { EventPattern } from '../http/schemas.js';

/**
 * What a subscription may be created or changed with: one set of zod schemas for the JSON API (which
 * also describes them in `GET /openapi.json`) and the console's forms.
 */

const eventTypes = z.array(EventPattern).min(1, 'must list at least one event type').max(100);
const url = z.string().max(2048).url('must be an absolute http(s) URL').openapi({
  description: 'Where events are POSTed. Private and loopback addresses are refused unless `BRIDGE_ALLOW_PRIVATE_URLS=true`.',
  example: 'https://example.com/webhooks/cliniko',
});
const description = z.string().max(500).nullable();
/** Headers the bridge owns: a subscription's custom headers can never set these. */
const RESERVED_HEADER =
  /^(webhook-.*|content-type|content-length|user-agent|host|connection|transfer-encoding|keep-alive|upgrade|te|trailer)$/i;
export const SubscriptionHeaders = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name')
      .refine((name) => !RESERVED_HEADER.test(name), 'is set by the bridge and cannot be overridden'),
    z
      .string()
      .max(1024)
      .regex(/^[^\r\n]*$/, 'must not contain line breaks'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 custom headers');
const options = {
  headers: SubscriptionHeaders.optional(),
  rate_limit_per_second: z.number().int().min(1).max(10_000).nullable().optional(),
  max_in_flight: z.number().int().min(1).max(1000).nullable().optional(),
  ordering: z.enum(['none', 'per_record']).optional(),
  payload: z.enum(['full', 'thin']).optional(),
  fields: z
    .array(z.string().regex(/^[A-Za-z0-9_]+$/, 'must be a top-level field name'))
    .min(1)
    .max(200)
    .nullable()
    .optional(),
};

export const NewSubscriptionBody = z
  .strictObject({ url, event_types: eventTypes.default(['*']), description: description.optional(), ...options })
  .openapi('NewSubscription', {
    example: { url: 'https://example.com/webhooks/cliniko', event_types: ['individual_appointment.*'], description: 'Front desk board' },
  });

export const SubscriptionChangeBody = z
  .strictObject({
    url: url.optional(),
    event_types: eventTypes.optional(),
    description: description.optional(),
    status: z.enum(['active', 'disabled']).optional().openapi({ description: '`active` re-enables: its pending deliveries resume.' }),
    ...options,
  })
  .openapi('SubscriptionChange', { example: { status: 'active', event_types: ['*'] } });

export type NewSubscriptionInput = z.output<typeof NewSubscriptionBody>;
export type SubscriptionChange = z.output<typeof SubscriptionChangeBody>;

/** A rotated-out secret keeps signing this long unless the request says otherwise (Svix's default: 24 h). */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 30 * 86_400;

import { z } from '@hono/zod-openapi';
import { ATTEMPT_ERROR_MEANINGS, ATTEMPT_ERRORS } from '../delivery/attempt-errors.js';
import { EVENT_CATALOGUE } from '../catalog/index.js';
import { EventEnvelope } from '../events/envelope.js';
import { EVENT_TYPE_PATTERN } from '../delivery/match.js';
import { SCOPES } from '../store/schema.js';
import { knownEventPattern, unknownEventPatternMessage } from './event-type-check.js';

/**
 * The admin API's shared schemas (objects built from another's `.shape`, not `.extend`, so the
 * document shows plain objects rather than `allOf`), each a component of `GET /openapi.json` with an example that a
 * test validates against it. Request schemas validate; response schemas describe (and type-check
 * the handlers: `c.json` must return what the route declares). Times are ISO 8601 UTC strings.
 */

const SUB_ID = 'sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A';
const EVT_ID = 'evt_01JD5Q4B2C3D4E5F6G7H8J9K0M';
const DLV_ID = 'dlv_01JD5Q4B3X9RZ2Y8W7V6T5S4R3';
const ATT_ID = 'att_01JD5Q4B4M2N3P4Q5R6S7T8V9W';
const KEY_ID = 'key_01JD5Q2Z8Y7X6W5V4T3S2R1Q0P';
const AT = '2026-11-23T06:50:01.000Z';

/** The error body every 4xx/5xx of the admin API has. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'Stable, machine-readable: `invalid_request`, `not_found`, `unauthorized`, …' }),
      message: z.string().openapi({ description: 'For people: names the field or the fix.' }),
      fields: z
        .record(z.string(), z.array(z.string()))
        .optional()
        .openapi({ description: 'Per-field errors relayed from an upstream API (Esteem 422).' }),
    }),
  })
  .openapi('Error', { example: { error: { code: 'not_found', message: 'No subscription sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' } } });

/** No example of its own: Swagger UI would pre-fill optional time filters with it. Bodies have object examples. */
export const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-11-23T06:50:01Z' });

/**
 * `T` or null. Not `T.nullable()`: for a registered schema that makes the component itself nullable
 * in the document (zod-to-openapi keeps the name on the wrapper).
 */
function orNull<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.null()]);
}

/** The syntax of an event type or pattern (`*`, `contact.updated`, `attendee.*`), known or not: for filters. */
export const EventTypePattern = z.string().regex(EVENT_TYPE_PATTERN, 'must be "*", "resource.kind" or "resource.*"');

/** `*`, a catalogued type (`contact.updated`) or a resource prefix (`attendee.*`); unknown ones are refused. */
export const EventPattern = EventTypePattern.superRefine((v, ctx) => {
  if (!knownEventPattern(v)) ctx.addIssue({ code: 'custom', message: unknownEventPatternMessage(v) });
}).openapi({ description: '`*`, an event type from `GET /v1/event-types`, or `resource.*`.', example: 'individual_appointment.*' });

/** A page of a list, newest first; pass `next_cursor` as `cursor` for the next one (null on the last). */
export function page<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);
}

/** `limit` (1–100, default 50) and an opaque `cursor` from a previous page's `next_cursor`. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(50).openapi({ description: 'Items per page (1–100).', example: 50 }),
  cursor: z.string().optional().openapi({ description: 'The `next_cursor` of the previous page.' }),
};

const catalogueExample = EVENT_CATALOGUE.find((d) => d.type === 'individual_appointment.cancelled')?.example ?? EVENT_CATALOGUE[0]!.example;

/** The body delivered to receivers (Standard Webhooks), and what the events API shows: the envelope schema. */
export const EventPayload = EventEnvelope.openapi('EventPayload', { example: catalogueExample });

const attemptExample = {
  id: ATT_ID,
  attempted_at: AT,
  duration_ms: 12,
  status_code: 503,
  error: 'http_status',
  error_message: 'receiver answered 503',
  response_excerpt: 'try later',
  response_headers: { 'retry-after': '30' },
  trigger: 'schedule' as const,
};

export const Attempt = z
  .object({
    id: z.string(),
    attempted_at: z.string(),
    duration_ms: z.number(),
    status_code: z.number().int().nullable(),
    // The values are ATTEMPT_ERRORS; typed as a string until the store's Attempt type says AttemptError.
    error: z
      .string()
      .nullable()
      .openapi({
        enum: [...ATTEMPT_ERRORS, null],
        description: `Why the attempt failed, null on success: ${ATTEMPT_ERRORS.map((code) => `\`${code}\` (${ATTEMPT_ERROR_MEANINGS[code]})`).join(', ')}.`,
      }),
    error_message: z.string().nullable().optional().openapi({
      description:
        'What went wrong in words, e.g. `receiver answered 503`; null on success; absent on attempts recorded by versions before it was kept.',
    }),
    response_excerpt: z.string().nullable().openapi({ description: 'First 4 KB of the response body.' }),
    response_headers: z.record(z.string(), z.string()),
    trigger: z.enum(['schedule', 'manual']),
  })
  .openapi('Attempt', { example: attemptExample });

const deliveryFields = {
  id: z.string(),
  event_id: z.string(),
  subscription_id: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']).openapi({ description: '`failed` is the dead letter: retried only by hand.' }),
  trigger: z.enum(['dispatch', 'replay']),
  attempt_count: z.number().int(),
  next_attempt_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
};
const deliveryExample = {
  id: DLV_ID,
  event_id: EVT_ID,
  subscription_id: SUB_ID,
  status: 'pending' as const,
  trigger: 'dispatch' as const,
  attempt_count: 1,
  next_attempt_at: '2026-11-23T06:50:06.000Z',
  created_at: AT,
  updated_at: AT,
};

/** A delivery with its last attempt. */
export const Delivery = z
  .object({ ...deliveryFields, last_attempt: orNull(Attempt) })
  .openapi('Delivery', { example: { ...deliveryExample, last_attempt: null } });

/** A delivery as an event shows it (no attempts: `GET /v1/events/{id}/attempts` has them). */
const EventDelivery = z.object(deliveryFields).openapi('EventDelivery', { example: deliveryExample });

export const EventWithDeliveries = z.object({ ...EventPayload.shape, deliveries: z.array(EventDelivery) }).openapi('EventWithDeliveries', {
  example: { ...catalogueExample, deliveries: [deliveryExample] },
});

export const AttemptWithDelivery = z
  .object({ ...Attempt.shape, delivery_id: z.string(), subscription_id: z.string() })
  .openapi('AttemptWithDelivery', {
    example: { ...attemptExample, delivery_id: DLV_ID, subscription_id: SUB_ID },
  });

const subscriptionExample = {
  id: SUB_ID,
  url: 'https://example.com/webhooks/cliniko',
  event_types: ['individual_appointment.*', 'patient.updated'],
  description: 'Front desk board',
  status: 'active' as const,
  disabled_reason: null,
  disabled_at: null,
  kind: 'subscription' as const,
  headers: { 'X-Api-Key': '[hidden]' },
  rate_limit_per_second: null,
  max_in_flight: null,
  ordering: 'none' as const,
  payload: 'full' as const,
  fields: null,
  failing_since: null,
  owner: null,
  created_at: AT,
  updated_at: AT,
  previous_secret_expires_at: null,
};

/** A subscription as the API shows it: no secrets, custom header values masked. */
export const Subscription = z
  .object({
    id: z.string(),
    url: z.string(),
    event_types: z.array(z.string()),
    description: z.string().nullable(),
    status: z.enum(['active', 'disabled']),
    disabled_reason: z.enum(['manual', 'gone', 'failing']).nullable(),
    disabled_at: z
      .string()
      .nullable()
      .openapi({ description: 'Events detected while disabled are not queued: replay from here after re-enabling.' }),
    kind: z
      .enum(['subscription', 'hook'])
      .openapi({ description: '`hook`: made through `POST /v1/hooks`; a 410 from its target removes it.' }),
    headers: z.record(z.string(), z.string()).openapi({ description: 'Custom request headers; values shown as `[hidden]`.' }),
    rate_limit_per_second: z.number().int().nullable(),
    max_in_flight: z.number().int().nullable(),
    ordering: z.enum(['none', 'per_record']),
    payload: z.enum(['full', 'thin']),
    fields: z.array(z.string()).nullable(),
    failing_since: z.string().nullable(),
    owner: z.string().nullable().openapi({ description: 'The API key that created it; null for the admin token.' }),
    created_at: z.string(),
    updated_at: z.string(),
    previous_secret_expires_at: z
      .string()
      .nullable()
      .openapi({ description: 'Until when the previous secret also signs (after a rotation).' }),
  })
  .openapi('Subscription', { example: subscriptionExample });

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The answer to `POST /v1/subscriptions`: the subscription and its signing secret. */
export const SubscriptionWithSecret = z
  .object({
    ...Subscription.shape,
    secret: z.string().openapi({ description: 'Standard Webhooks signing secret (`whsec_…`). Also at `GET …/secret`.' }),
  })
  .openapi('SubscriptionWithSecret', { example: { ...subscriptionExample, secret: SECRET } });

export const Secret = z.object({ secret: z.string() }).openapi('Secret', { example: { secret: SECRET } });

export const RotatedSecret = z
  .object({ secret: z.string(), previous_secret_expires_at: z.string().nullable() })
  .openapi('RotatedSecret', { example: { secret: SECRET, previous_secret_expires_at: '2026-11-24T06:50:01.000Z' } });

const apiKeyExample = {
  id: KEY_ID,
  name: 'Zapier',
  scopes: ['subscriptions:read' as const, 'subscriptions:write' as const, 'events:read' as const],
  subscriptions: 'own' as const,
  prefix: 'ceb_4kR9xQ',
  created_at: AT,
  last_used_at: null,
};

/** An API key as lists show it: never its value or hash. */
export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    subscriptions: z.enum(['own', 'all']).openapi({ description: '`own`: sees and changes only the subscriptions it created.' }),
    prefix: z.string().openapi({ description: 'The first characters of the key, to tell keys apart.' }),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi('ApiKey', { example: apiKeyExample });

export const IssuedApiKey = z
  .object({ ...ApiKey.shape, key: z.string().openapi({ description: 'The key itself: shown this once, stored hashed.' }) })
  .openapi('IssuedApiKey', {
    example: { ...apiKeyExample, key: 'ceb_4kR9xQ2m7PpZl0VtE1sYwHc8nJ3bF6dGaU5oLiXqKrM' },
  });

export const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.string().openapi({ description: 'e.g. `subscription.created`, `subscription.secret_rotated`, `event.replayed`.' }),
    actor: z.string().openapi({ description: '`admin`, or `key:<name>`.' }),
    request_id: z.string().nullable(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEntry', {
    example: {
      id: 'aud_01JD5Q3N6T0V1Y7ZK8M2XW4R9B',
      at: AT,
      action: 'subscription.created',
      actor: 'admin',
      request_id: '2f1c6a8e-5b0d-4f7e-9a3c-1d2e3f4a5b6c',
      target: SUB_ID,
      details: { url: 'https://example.com/webhooks/cliniko', event_types: ['*'] },
    },
  });

export const EventType = z.object({ type: z.string(), description: z.string(), example: EventPayload }).openapi('EventType', {
  example: { type: catalogueExample.type, description: 'An appointment was cancelled.', example: catalogueExample },
});

const progressExample = {
  phase: 'backfill' as const,
  status: 'running' as const,
  pages_done: 3,
  records_done: 300,
  total_entries: 1250,
  events: 0,
  started_at: AT,
};

/** How far a full read (the baseline, or a backfill) has come. */
export const ReadProgress = z
  .object({
    phase: z.enum(['baseline', 'backfill']),
    status: z.enum(['running', 'done', 'failed']),
    pages_done: z.number().int(),
    records_done: z.number().int(),
    total_entries: z.number().int().nullable(),
    events: z.number().int(),
    started_at: z.string(),
  })
  .openapi('ReadProgress', { example: progressExample });

const firstPassExample = {
  status: 'running' as const,
  reason: 'first_start' as const,
  started_at: AT,
  finished_at: null,
  records_read: 41_200,
  total_entries: 300_000,
  requests_left: 2_588,
  estimated_completion_at: '2026-11-23T07:52:30.000Z',
};

/** The background first pass of a resource started live (README "How changes are found"). */
export const FirstPass = z
  .object({
    status: z.enum(['running', 'done']),
    reason: z
      .enum(['first_start', 'catch_up'])
      .openapi({ description: '`first_start`, or `catch_up`: the last poll was older than `BRIDGE_MAX_CATCH_UP` (a restored backup).' }),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    records_read: z.number().int(),
    total_entries: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Estimated records in all, from the lists' `total_entries`; null before the first page." }),
    requests_left: z.number().int().nullable().openapi({ description: 'Requests the pass still needs; null while the total is unknown.' }),
    estimated_completion_at: z
      .string()
      .nullable()
      .openapi({ description: 'At the pace of its last minute in the budget; null when unknown or done.' }),
  })
  .openapi('FirstPass', { example: firstPassExample });

const SourceResource = z
  .object({
    source: z.string(),
    resource: z.string(),
    status: z.enum(['pending', 'ok', 'backoff', 'forbidden', 'unauthorized']),
    tier: z.enum(['hot', 'warm', 'cold']).nullable(),
    interval_ms: z.number().nullable(),
    target_interval_ms: z.number().nullable(),
    next_poll_at: z.string().nullable(),
    requests_last_minute: z.number().int().nullable(),
    cursor: z.unknown().openapi({ description: 'The feed cursor: opaque, per source.' }),
    last_poll_at: z.string().nullable(),
    last_success_at: z.string().nullable(),
    last_error: z.object({ message: z.string(), at: z.string() }).nullable(),
    backoff_until: z.string().nullable(),
    progress: orNull(ReadProgress),
    live_since: z
      .string()
      .nullable()
      .openapi({ description: 'Changes at or after this time are delivered at once; null for a resource that did not start live.' }),
    first_pass: orNull(FirstPass).openapi({
      description: 'The background read of existing records of a resource started live; null otherwise.',
    }),
  })
  .openapi('SourceResource');

const Budget = z
  .object({ source: z.string(), limit_per_min: z.number(), budget_per_min: z.number(), used_last_minute: z.number() })
  .openapi('Budget', { example: { source: 'cliniko', limit_per_min: 200, budget_per_min: 180, used_last_minute: 12 } });

export const Sources = z.object({ data: z.array(SourceResource), budgets: z.array(Budget) }).openapi('Sources', {
  example: {
    data: [
      {
        source: 'cliniko',
        resource: 'individual_appointment',
        status: 'ok',
        tier: 'hot',
        interval_ms: 5000,
        target_interval_ms: 5000,
        next_poll_at: '2026-11-23T06:50:06.000Z',
        requests_last_minute: 12,
        cursor: { updated_at: '2026-11-23T06:49:58Z', id: '1234' },
        last_poll_at: AT,
        last_success_at: AT,
        last_error: null,
        backoff_until: null,
        progress: null,
        live_since: '2026-11-23T06:48:01Z',
        first_pass: firstPassExample,
      },
    ],
    budgets: [{ source: 'cliniko', limit_per_min: 200, budget_per_min: 180, used_last_minute: 12 }],
  },
});

import { z } from '@hono/zod-openapi';

/**
 * The event envelope: the body POSTed to receivers (Standard Webhooks), what the events API shows and
 * what the store keeps as an event's payload. Declared once here; the TypeScript type
 * ({@link EventEnvelope}), the OpenAPI `EventPayload` schema (src/http/schemas.ts adds the example),
 * the event catalogue's examples (typed and checked against it) and the demo receiver's parsing all
 * come from this schema.
 */
export const EventEnvelope = z.object({
  id: z.string().openapi({ description: 'Event id (`evt_…`); also the `webhook-id` header. Idempotency key for receivers.' }),
  type: z.string().openapi({ description: 'Event type, e.g. `individual_appointment.cancelled`.' }),
  timestamp: z.string().openapi({ description: 'When the bridge detected the change (UTC).' }),
  data: z
    .object({
      source: z.string().openapi({ description: '`cliniko` or `esteem`.' }),
      resource: z.string().openapi({ description: 'The source resource, e.g. `individual_appointment`.' }),
      id: z.string().openapi({ description: 'The record id at the source.' }),
      // Absent from thin payloads (which carry `changed_fields` and `links` instead): parsed as {}.
      object: z.record(z.string(), z.unknown()).default({}).openapi({
        description:
          'The record as the source returned it; absent from thin payloads, which carry `changed_fields` and `links.self` instead.',
      }),
      previous_attributes: z
        .union([z.record(z.string(), z.unknown()), z.null()])
        .optional()
        .openapi({
          description:
            'Old values of changed fields (`.updated` and lifecycle events); absent on `.created`. `null`, with `snapshot: "none"`, when the bridge had no previous version of the record (a change during a resource\'s background first pass to a record it had not read yet): not known, never "nothing changed".',
        }),
      snapshot: z.literal('none').optional().openapi({
        description: 'Present (`none`) only when the bridge had no previous version of the record; `previous_attributes` is then `null`.',
      }),
      changed_fields: z.array(z.string()).optional().openapi({ description: 'Names of changed fields (thin payloads, hashed snapshots).' }),
    })
    .catchall(z.unknown())
    .openapi({ description: 'Domain events add fields of their own, e.g. `from` and `to`.' }),
});

/** An event as delivered and stored: `{ id, type, timestamp, data: { source, resource, id, object, … } }`. */
export type EventEnvelope = z.infer<typeof EventEnvelope>;

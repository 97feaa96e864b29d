import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../../http/errors.js';
import { createRouter, errors, json, jsonBody } from '../../http/openapi.js';
import { UpstreamError } from '../errors.js';
import type { EsteemClient } from './client.js';

/** `POST /appointments/:id/reschedule`: what may be changed, at least one of the first two. */
const RescheduleBody = z
  .strictObject({
    scheduled_at: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a zone, e.g. 2026-10-27T14:30:00Z' })
      .optional(),
    provider_id: z.number().int().positive({ error: 'must be a positive whole number (an Esteem provider id)' }).optional(),
    reason: z.string().trim().min(1).max(1000).optional(),
  })
  .refine((b) => b.scheduled_at !== undefined || b.provider_id !== undefined, { message: 'give scheduled_at, provider_id or both' })
  .openapi('EsteemReschedule', { example: { scheduled_at: '2026-11-24T14:30:00Z', reason: 'Patient asked for the afternoon' } });

const reschedule = createRoute({
  method: 'post',
  path: '/appointments/{id}/reschedule',
  tags: ['Esteem'],
  summary: 'Reschedule an Esteem appointment',
  description:
    "Calls Esteem's `PUT …/reschedule_appointments/{id}` and answers with Esteem's own answer. The change itself arrives later as `appointment.rescheduled`. Audited.",
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^\d+$/, 'must be a whole number (an Esteem appointment id)')
        .openapi({ param: { name: 'id', in: 'path' }, example: '48213', description: 'Esteem appointment id' }),
    }),
    ...jsonBody(RescheduleBody),
  },
  responses: {
    200: json(
      z.record(z.string(), z.unknown()).openapi({ example: { id: 48213, scheduled_at: '2026-11-24T14:30:00Z' } }),
      "Esteem's answer, as Esteem gave it.",
    ),
    204: { description: 'Esteem answered 204.' },
    ...errors({
      404: 'Esteem has no such appointment (`not_found`).',
      422: 'Esteem rejected the change (`validation_failed`); its field errors are in `error.fields`.',
      502: 'Esteem answered something else, or nothing (`upstream_error`): whether the change applied shows in the next poll.',
    }),
  },
});

/**
 * The Esteem source's admin actions, mounted by the bridge at `/v1/sources/esteem` behind the admin
 * token: `POST /appointments/:id/reschedule` calls Esteem's `PUT …/reschedule_appointments/{id}`
 * and answers with Esteem's own answer. Esteem's 404 → 404 `not_found`; its 422 → 422
 * `validation_failed` with its field errors in `fields`; anything else that is not 2xx, or no
 * answer → 502 `upstream_error`. The change itself arrives later as `appointment.rescheduled`.
 */
export function createEsteemActions(client: EsteemClient): OpenAPIHono {
  const app = createRouter();

  app.openapi(reschedule, async (c) => {
    const { id } = c.req.valid('param');
    const res = await client.reschedule(id, c.req.valid('json')).catch((err: unknown) => {
      // A write that timed out may still have been applied: the next poll shows whether it was.
      if (err instanceof UpstreamError) {
        throw new ApiError(
          502,
          'upstream_error',
          `no usable answer from Esteem (${err.kind}); whether the change was applied shows in the next poll`,
        );
      }
      throw err;
    });
    if (res.status >= 200 && res.status < 300) {
      // Esteem's own 2xx, passed through: the declared 200/204 are what it answers in practice.
      return res.body === null
        ? c.body(null, res.status as 204)
        : c.json(res.body as Record<string, unknown>, res.status as ContentfulStatusCode);
    }
    if (res.status === 404)
      throw new ApiError(404, 'not_found', `Esteem has no appointment ${id} (${esteemMessage(res.body) ?? 'not found'})`);
    if (res.status === 422) {
      throw new ApiError(422, 'validation_failed', esteemMessage(res.body) ?? 'Esteem rejected the change', fieldErrors(res.body));
    }
    const auth = res.status === 401 || res.status === 403 ? ' (check ESTEEM_USER_TOKEN)' : '';
    throw new ApiError(502, 'upstream_error', `Esteem answered ${res.status}${auth}`);
  });

  return app;
}

/** Esteem's 422: `{ "errors": { "field": ["…"] } }`, relayed as `error.fields`. */
function fieldErrors(body: unknown): Record<string, string[]> {
  const errors = body && typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  if (!errors || typeof errors !== 'object' || Array.isArray(errors)) return {};
  const out: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(errors)) {
    out[field] = (Array.isArray(messages) ? messages : [messages]).map(String);
  }
  return out;
}

/** A 404/401-style `{ "errors": "…" }` message, or a summary of 422 field errors. */
function esteemMessage(body: unknown): string | undefined {
  const errors = body && typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  if (typeof errors === 'string') return errors;
  const fields = fieldErrors(body);
  const parts = Object.entries(fields).map(([field, messages]) => `${field} ${messages.join(', ')}`);
  return parts.length > 0 ? `Esteem rejected the change: ${parts.join('; ')}` : undefined;
}

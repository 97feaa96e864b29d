import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { createRouter, errors, json } from '../openapi.js';
import { ReadProgress, Sources } from '../schemas.js';

const tags = ['Sources'];

const routes = {
  poll: createRoute({
    method: 'post',
    path: '/poll',
    tags,
    summary: 'Poll every resource now',
    description: 'Answers at once; the outcome shows in `GET /v1/sources` and in the events.',
    responses: { 202: json(z.object({ status: z.literal('polling') }).openapi({ example: { status: 'polling' } }), 'Started.') },
  }),
  sources: createRoute({
    method: 'get',
    path: '/sources',
    tags,
    summary: 'Poller state per resource',
    description:
      'Status, tier, interval, cursor, last error, live start, first-pass and backfill progress of every polled resource, and each API key budget.',
    responses: { 200: json(Sources, 'Every polled resource.') },
  }),
  backfill: createRoute({
    method: 'post',
    path: '/sources/{resource}/backfill',
    tags,
    summary: 'Backfill a resource',
    description:
      'Reads the whole resource again and emits events for what differs from the snapshots. Progress shows in `GET /v1/sources`.',
    request: {
      params: z.object({
        resource: z
          .string()
          .min(1)
          .openapi({ param: { name: 'resource', in: 'path' }, example: 'patients', description: '`patients`, or `cliniko:patients`' }),
      }),
    },
    responses: {
      202: json(z.object({ resource: z.string(), progress: ReadProgress }), 'Started; `progress` as in `GET /v1/sources`.'),
      ...errors({ 404: 'No polled resource of that name (`not_found`).' }),
    },
  }),
};

/** `/v1/poll`, `/v1/sources` and backfills: the poller seen from outside. */
export function systemRoutes(deps: AdminDeps) {
  return createRouter()
    .openapi(routes.poll, (c) => {
      // Answer at once; the poll's outcome shows in GET /v1/sources and in the events.
      deps.poller.pollNow().catch((err: unknown) => deps.logger.error({ err }, 'manual poll failed'));
      return c.json({ status: 'polling' as const }, 202);
    })
    .openapi(routes.sources, (c) =>
      c.json(
        {
          data: deps.poller.describe().map((r) => ({
            source: r.source,
            resource: r.resource,
            status: r.status,
            tier: r.tier,
            interval_ms: r.interval_ms,
            target_interval_ms: r.target_interval_ms,
            next_poll_at: r.next_poll_at,
            requests_last_minute: r.requests_last_minute,
            cursor: r.state?.cursor ?? null,
            last_poll_at: r.state?.last_poll_at ?? null,
            last_success_at: r.state?.last_success_at ?? null,
            last_error: r.state?.last_error ?? null,
            backoff_until: r.backoff_until,
            progress: r.progress,
            live_since: r.live_since,
            first_pass: r.first_pass,
          })),
          budgets: deps.poller.budgets(),
        },
        200,
      ),
    )
    .openapi(routes.backfill, (c) => {
      const { resource } = c.req.valid('param');
      const progress = deps.poller.backfill(resource);
      if (!progress) throw new ApiError(404, 'not_found', `No polled resource ${resource}`);
      return c.json({ resource, progress }, 202);
    });
}

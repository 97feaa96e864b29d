import { Hono } from 'hono';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';

/** `/v1/poll`, `/v1/sources` and backfills: the poller seen from outside. */
export function systemRoutes(deps: AdminDeps) {
  return new Hono()
    .post('/poll', (c) => {
      // Answer at once; the poll's outcome shows in GET /v1/sources and in the events.
      deps.poller.pollNow().catch((err: unknown) => deps.logger.error({ err }, 'manual poll failed'));
      return c.json({ status: 'polling' }, 202);
    })
    .get('/sources', (c) =>
      c.json({
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
        })),
        budgets: deps.poller.budgets(),
      }),
    )
    .post('/sources/:resource/backfill', (c) => {
      const resource = c.req.param('resource');
      const progress = deps.poller.backfill(resource);
      if (!progress) throw new ApiError(404, 'not_found', `No polled resource ${resource}`);
      return c.json({ resource, progress }, 202);
    });
}

import { Hono } from 'hono';
import type { AdminDeps } from '../context.js';

/** `/v1/poll` and `/v1/sources`: the poller seen from outside. */
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
          cursor: r.state?.cursor ?? null,
          last_poll_at: r.state?.last_poll_at ?? null,
          last_success_at: r.state?.last_success_at ?? null,
          last_error: r.state?.last_error ?? null,
          backoff_until: r.backoff_until,
        })),
      }),
    );
}

import { createRoute, z } from '@hono/zod-openapi';
import { metrics, registry } from '../../metrics.js';
import type { AdminDeps } from '../context.js';
import { createRouter, json } from '../openapi.js';

const tags = ['Operations'];
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    waiting: z.array(z.object({ source: z.string(), resource: z.string() })).openapi({
      description: 'Resources whose last poll failed (and are not within a backoff after earlier success), or that were never polled.',
    }),
    store: z.object({ writable: z.boolean(), reason: z.string().nullable() }).openapi({
      description:
        'Whether the store accepts writes; when it does not (disk full, database down) the bridge is not ready and `reason` says why. Polls wait and nothing is lost meanwhile.',
    }),
  })
  .openapi('Readiness', {
    example: { status: 'not_ready', waiting: [{ source: 'cliniko', resource: 'patients' }], store: { writable: true, reason: null } },
  });

const routes = {
  metrics: createRoute({
    method: 'get',
    path: '/metrics',
    tags,
    summary: 'Prometheus metrics',
    description: 'No token, like the health checks: keep `HOST` on a private address.',
    responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } } },
  }),
  healthz: createRoute({
    method: 'get',
    path: '/healthz',
    tags,
    summary: 'Liveness',
    description: 'The process answers. No token.',
    responses: { 200: json(z.object({ status: z.literal('ok') }).openapi({ example: { status: 'ok' } }), 'Alive.') },
  }),
  readyz: createRoute({
    method: 'get',
    path: '/readyz',
    tags,
    summary: 'Readiness',
    description:
      'Ready when the store is loaded and every resource last polled successfully, or failed after earlier success and is within its backoff; never while its source rejects the credentials (401). No token.',
    responses: { 200: json(Readiness, 'Ready.'), 503: json(Readiness, 'Not ready; `waiting` names the resources.') },
  }),
};

/** `/metrics`, `/healthz` and `/readyz`: what an orchestrator and Prometheus need, without a token. */
export function operationRoutes(deps: AdminDeps) {
  return createRouter()
    .openapi(routes.metrics, async (c) => {
      metrics.pendingDeliveries.set(deps.worker.pendingCount());
      const bytes = await deps.store.sizeBytes();
      if (bytes !== null) metrics.storeBytes.set(bytes);
      return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
    })
    .openapi(routes.healthz, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(routes.readyz, (c) => {
      const now = Date.now();
      const waiting = deps.poller
        .describe()
        .filter((r) => {
          if (r.status === 'unauthorized') return true; // a revoked key does not heal by waiting
          const ok = r.state?.last_success_at && !r.state.last_error;
          // Backing off counts only for a resource that worked before: a wrong key never becomes ready.
          const backingOff = r.state?.last_success_at && r.state.last_error && r.backoff_until && Date.parse(r.backoff_until) > now;
          return !ok && !backingOff;
        })
        // Names only: /readyz needs no token, and error details belong behind it (GET /v1/sources).
        .map((r) => ({ source: r.source, resource: r.resource }));
      const { writable, reason } = deps.store.health();
      const store = { writable, reason };
      return waiting.length === 0 && writable
        ? c.json({ status: 'ready' as const, waiting, store }, 200)
        : c.json({ status: 'not_ready' as const, waiting, store }, 503);
    });
}

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { rateLimiter } from 'hono-rate-limiter';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import { decodeCursor, pageNewestFirst, pageQuery } from './pagination.js';
import { validate } from './validate.js';
import type { AuditEntry } from '../store/schema.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { metrics, registry } from '../metrics.js';
import { audit } from './audit.js';
import { authenticate, authorize, principalOf } from './auth.js';
import type { AdminDeps } from './context.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { ApiError } from './errors.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { hookRoutes } from './routes/hooks.js';
import { deliveryRoutes, subscriptionRoutes } from './routes/subscriptions.js';
import { systemRoutes } from './routes/system.js';

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The admin API (issue "The bridge end to end on Cliniko", Admin API): `/healthz` without auth,
 * everything under `/v1` behind `Authorization: Bearer <token>` — the admin token or an API key with
 * scopes (src/http/auth.ts): 401 without a valid token, 403 without the scope. Every error is
 * `{ "error": { "code", "message" } }`.
 */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono();
  const { events, replay } = eventRoutes(deps);

  // Every response carries an X-Request-Id (the caller's, or a new one) and the secure-headers set.
  // CORS stays off: no route answers cross-origin browsers.
  app.use('*', requestId(), secureHeaders());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // Method, path and status only: never headers, query values or bodies.
    deps.logger.info(
      { request_id: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'admin request',
    );
  });

  // Prometheus metrics, without a token like the health checks (keep HOST on a private address).
  app.get('/metrics', async (c) => {
    metrics.pendingDeliveries.set(deps.worker.pendingCount());
    metrics.storeBytes.set(storeBytes(deps.store.dir));
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });

  // Liveness: the process answers.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Readiness: the store is loaded (it is, or the app would not exist) and every resource's last poll
  // succeeded or failed recently enough to still be within its backoff.
  app.get('/readyz', (c) => {
    const now = Date.now();
    const waiting = deps.poller
      .describe()
      .filter((r) => {
        const ok = r.state?.last_success_at && !r.state.last_error;
        // Backing off counts only for a resource that worked before: a wrong key never becomes ready.
        const backingOff = r.state?.last_success_at && r.state.last_error && r.backoff_until && Date.parse(r.backoff_until) > now;
        return !ok && !backingOff;
      })
      // Names only: /readyz needs no token, and error details belong behind it (GET /v1/sources).
      .map((r) => ({ source: r.source, resource: r.resource }));
    return c.json({ status: waiting.length === 0 ? 'ready' : 'not_ready', waiting }, waiting.length === 0 ? 200 : 503);
  });

  app.use(
    '/v1/*',
    authenticate(deps.store, deps.adminToken),
    // Per caller: each API key, and the admin token, has its own budget.
    rateLimiter({
      windowMs: 60_000,
      limit: deps.rateLimitPerMin,
      standardHeaders: 'draft-6',
      keyGenerator: (c) => principalOf(c).keyId ?? 'admin',
      handler: (c) =>
        c.json({ error: { code: 'rate_limited', message: `more than ${deps.rateLimitPerMin} requests a minute; wait and retry (see Retry-After)` } }, 429),
    }),
    authorize(),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `request body must be at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.route('/v1/api-keys', apiKeyRoutes(deps));
  app.route('/v1/subscriptions', subscriptionRoutes(deps));
  app.route('/v1/deliveries', deliveryRoutes(deps));
  app.route('/v1/events', events);
  app.route('/v1/replay', replay);
  app.route('/v1/event-types', eventTypeRoutes());
  app.route('/v1/hooks', hookRoutes(deps));
  for (const action of deps.sourceActions ?? []) {
    // Source actions write upstream (Esteem's reschedule): audited like every admin change.
    app.use(`/v1/sources/${action.name}/*`, async (c, next) => {
      await next();
      if (c.req.method !== 'GET' && c.res.status < 400) {
        audit(deps.store, c, `source.${action.name}.action`, null, { method: c.req.method, path: c.req.path, status: c.res.status });
        await deps.store.commit();
      }
    });
    app.mount(`/v1/sources/${action.name}`, action.app.fetch as (r: Request) => Response | Promise<Response>);
  }
  app.route('/v1', systemRoutes(deps));
  app.get('/v1/audit', validate('query', z.object({ since: z.iso.datetime({ offset: true }).optional(), ...pageQuery })), (c) => {
    const { since, limit, cursor } = c.req.valid('query');
    // A key limited to its own subscriptions sees only its own actions.
    const p = principalOf(c);
    const keep = (e: AuditEntry) => (!since || e.at >= new Date(since).toISOString()) && (!p.ownSubscriptionsOnly || e.actor === p.actor);
    const page = pageNewestFirst(deps.store.data.audit, (e) => e.id, keep, limit, cursor ? decodeCursor(cursor, 'aud') : undefined);
    return c.json(page);
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message } }, err.status);
    if (err instanceof HTTPException) {
      // bearerAuth answers with its own JSON response (401, or 400 for a malformed header); keep it:
      // it carries WWW-Authenticate.
      if (err.res) return err.getResponse();
      const code = /JSON/i.test(err.message) ? 'invalid_json' : 'bad_request';
      return c.json({ error: { code, message: err.message || 'bad request' } }, err.status);
    }
    deps.logger.error({ err, path: c.req.path }, 'admin API error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}

/** Bytes of the files in the data directory (a handful of files: cheap enough per scrape). */
function storeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}

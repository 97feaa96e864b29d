import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AdminDeps } from './context.js';
import { ApiError } from './errors.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { hookRoutes } from './routes/hooks.js';
import { deliveryRoutes, subscriptionRoutes } from './routes/subscriptions.js';
import { systemRoutes } from './routes/system.js';

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The admin API (issue "The bridge end to end on Cliniko", Admin API): `/healthz` without auth,
 * everything under `/v1` behind `Authorization: Bearer <BRIDGE_ADMIN_TOKEN>` (hono's bearerAuth
 * compares in constant time). Every error is `{ "error": { "code", "message" } }`.
 */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono();
  const { events, replay } = eventRoutes(deps);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.use(
    '/v1/*',
    bearerAuth({
      token: deps.adminToken,
      noAuthenticationHeader: { message: { error: { code: 'unauthorized', message: 'Authorization: Bearer <token> is required' } } },
      invalidAuthenticationHeader: { message: { error: { code: 'unauthorized', message: 'Authorization header must be "Bearer <token>"' } } },
      invalidToken: { message: { error: { code: 'unauthorized', message: 'invalid admin token' } } },
    }),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `request body must be at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.route('/v1/subscriptions', subscriptionRoutes(deps));
  app.route('/v1/deliveries', deliveryRoutes(deps));
  app.route('/v1/events', events);
  app.route('/v1/replay', replay);
  app.route('/v1/event-types', eventTypeRoutes());
  app.route('/v1/hooks', hookRoutes(deps));
  for (const action of deps.sourceActions ?? []) app.mount(`/v1/sources/${action.name}`, action.app.fetch as (r: Request) => Response | Promise<Response>);
  app.route('/v1', systemRoutes(deps));

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

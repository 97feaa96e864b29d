import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { rateLimiter } from 'hono-rate-limiter';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { audit } from './audit.js';
import { authenticate, authorize, principalOf } from './auth.js';
import { describeMiddleware, OPENAPI_PATH, BEARER } from './openapi.js';
import { auditRoutes } from './routes/audit-log.js';
import { operationRoutes } from './routes/operations.js';
import type { AdminDeps } from './context.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { ApiError } from './errors.js';
import { docsRoutes } from './docs.js';
import { consoleApp } from '../console/app.js';
import { describeDeliveries } from './webhook-doc.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { hookRoutes } from './routes/hooks.js';
import { deliveryRoutes, subscriptionRoutes } from './routes/subscriptions.js';
import { systemRoutes } from './routes/system.js';

const MAX_BODY_BYTES = 64 * 1024;
/** The one text of `400 invalid_json`, whichever parser noticed (hono's validator or a route's own). */
const INVALID_JSON_MESSAGE = 'the body is not valid JSON: check quotes, commas and brackets (send Content-Type: application/json)';

/**
 * The admin API (issue "The bridge end to end on Cliniko", Admin API): `/healthz`, `/readyz`,
 * `/metrics`, `/openapi.json` (OpenAPI 3.1) and `/docs` (Swagger UI) without auth; everything under
 * `/v1` behind `Authorization: Bearer <token>` — the admin token or an API key with scopes
 * (src/http/auth.ts): 401 without a valid token, 403 without the scope. Every error is
 * `{ "error": { "code", "message" } }`. Every route is declared with `createRoute` (src/http/openapi.ts).
 */
export function createAdminApp(deps: AdminDeps): OpenAPIHono {
  const app = new OpenAPIHono();
  const { events, replay } = eventRoutes(deps);

  // Every response carries an X-Request-Id (the caller's, or a new one) and the secure-headers set.
  // CORS stays off: no route answers cross-origin browsers.
  app.use('*', requestId(), secureHeaders());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // Method, path and status only: never headers, query values or bodies.
    deps.logger.info(
      {
        request_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'admin request',
    );
  });

  app.route('/', operationRoutes(deps));

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
        c.json(
          {
            error: {
              code: 'rate_limited',
              message: `more than ${deps.rateLimitPerMin} requests a minute; wait and retry (see Retry-After)`,
            },
          },
          429,
        ),
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
        await deps.store.transaction((tx) =>
          audit(tx, c, `source.${action.name}.action`, null, { method: c.req.method, path: c.req.path, status: c.res.status }),
        );
      }
    });
    app.route(`/v1/sources/${action.name}`, action.app);
  }
  app.route('/v1', systemRoutes(deps));
  app.route('/v1/audit', auditRoutes(deps));
  describeMiddleware(app);
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description: '`BRIDGE_ADMIN_TOKEN`, or an API key from `POST /v1/api-keys` (`ceb_…`).',
  });
  describeDeliveries(app);
  // Built once, on first request: the routes are fixed from here on, and building takes milliseconds
  // of CPU that an unauthenticated caller should not be able to spend at will.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get(OPENAPI_PATH, (c) =>
    c.json(
      (document ??= app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'clinic-event-bridge admin API',
          version: deps.version,
          description:
            'Subscriptions, events, deliveries, replay, Zapier REST hooks and API keys of clinic-event-bridge. Every error is `{ "error": { "code", "message" } }`. Deliveries are signed per the Standard Webhooks spec: see `webhooks.event`.',
        },
      })),
    ),
  );
  app.route('/', docsRoutes(OPENAPI_PATH));
  // The web console: its own sessions, CSRF and CSP (src/console).
  app.route('/console', consoleApp(deps));

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError)
      return c.json({ error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } }, err.status);
    if (err instanceof HTTPException) {
      // bearerAuth answers with its own JSON response (401, or 400 for a malformed header); keep it:
      // it carries WWW-Authenticate.
      if (err.res) return err.getResponse();
      // 415 comes from @hono/zod-openapi's media-type gate on routes with a JSON body.
      if (err.status === 415) {
        return c.json(
          {
            error: {
              code: 'unsupported_media_type',
              message: 'send the body as Content-Type: application/json (or send no body and no Content-Type)',
            },
          },
          415,
        );
      }
      if (/JSON/i.test(err.message)) return c.json({ error: { code: 'invalid_json', message: INVALID_JSON_MESSAGE } }, 400);
      return c.json({ error: { code: 'bad_request', message: err.message || 'bad request' } }, err.status);
    }
    deps.logger.error({ err, path: c.req.path }, 'admin API error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}

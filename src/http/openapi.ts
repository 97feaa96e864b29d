import { OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { scopeFor } from './auth.js';
import { ApiError } from './errors.js';

/**
 * Routes are declared once with `createRoute` (`@hono/zod-openapi`): the same zod schemas validate
 * requests and describe them in `GET /openapi.json` (OpenAPI 3.1), so the two cannot drift
 * (issue "Zapier REST hooks, an OpenAPI-described admin API…", OpenAPI and docs).
 */

/** Where the admin API's OpenAPI 3.1 document is served (unauthenticated, like `/healthz`). */
export const OPENAPI_PATH = '/openapi.json';

/** The security scheme every `/v1` route requires: the admin token or an API key. */
export const BEARER = 'bearer';

/** The error body every 4xx/5xx of the admin API has. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'Stable, machine-readable: `invalid_request`, `not_found`, `unauthorized`, …' }),
      message: z.string().openapi({ description: 'For people: names the field or the fix.' }),
      fields: z.record(z.string(), z.array(z.string())).optional().openapi({ description: 'Per-field errors relayed from an upstream API (Esteem 422).' }),
    }),
  })
  .openapi('Error', { example: { error: { code: 'not_found', message: 'No subscription sub_01JD5Q3N6T0V1Y7ZK8M2XW4R9A' } } });

/** Turns a failed request validation into 400 `invalid_request` naming the first bad field, e.g. `event_types.0: must be …`. */
export function validationError(error: ZodError, target: string): ApiError {
  const issue = error.issues[0];
  const path = issue?.path.join('.') || target;
  return new ApiError(400, 'invalid_request', `${path}: ${issue?.message ?? 'invalid'}`);
}

/** A router whose request validation fails with our error shape (see `validationError`). */
export function createRouter(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error as ZodError, result.target);
    },
  });
}

/** `{ content: { application/json: { schema } }, description }`: a JSON response or request body. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

/** A JSON request body; always `required`, so a request without one is validated as `{}` (defaults apply). */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { 'application/json': { schema } }, required: true } };
}

/** The code an error of this status has when its description names none. */
const DEFAULT_CODE: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  502: 'upstream_error',
};

/**
 * An error response whose example shows its own code: the first `code` in backticks in the
 * description (e.g. "The URL is refused (`unsafe_url`)."), else the status's usual one.
 */
export function errorResponse(status: number, description: string) {
  const code = /`([a-z_]+)`/.exec(description)?.[1] ?? DEFAULT_CODE[status] ?? 'error';
  const message = description.replace(/\s*\(`[^)]*\)/g, '');
  return { content: { 'application/json': { schema: ErrorBody, example: { error: { code, message } } } }, description };
}

/** Documented error responses, by status, with what each means for the route. */
export function errors(described: Partial<Record<400 | 404 | 409 | 410 | 422 | 502, string>>) {
  const out: Record<number, ReturnType<typeof errorResponse>> = {};
  for (const [status, description] of Object.entries(described)) out[Number(status)] = errorResponse(Number(status), description);
  return out;
}

/** `{ id }` path parameter with an example. */
export function idParam(example: string, description: string) {
  return z.object({ id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example, description }) });
}

/**
 * What the `/v1` middleware (src/http/app.ts, src/http/auth.ts) adds to every route, written into
 * the document from the same `scopeFor` that enforces it: the bearer requirement, the scope
 * (`x-required-scope`), and the 401/403/413/429 it may answer. Call once, after every route is added.
 */
export function describeMiddleware(app: OpenAPIHono): void {
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route' || !def.route.path.startsWith('/v1/')) continue;
    const route = def.route as RouteConfig & Record<string, unknown>;
    const expressPath = route.path.replace(/\{([^}]+)\}/g, ':$1');
    const scope = scopeFor(route.method.toUpperCase(), expressPath);
    route.security = [{ [BEARER]: [] }];
    route['x-required-scope'] = scope;
    const scopeLine = scope === 'admin' ? 'Admin token only.' : `Scope: \`${scope}\` (the admin token has every scope).`;
    route.description = route.description ? `${route.description}\n\n${scopeLine}` : scopeLine;
    route.responses = {
      ...route.responses,
      401: json(ErrorBody, 'No token, or not a valid admin token or API key (`unauthorized`).'),
      403: json(ErrorBody, 'The API key lacks the scope (`forbidden`).'),
      429: json(ErrorBody, 'More requests a minute than `BRIDGE_ADMIN_RATE_LIMIT_PER_MIN` for this token (`rate_limited`); see `Retry-After`.'),
      ...(route.request && !route.responses[400] ? { 400: json(ErrorBody, 'A parameter or the body is invalid (`invalid_request`, `invalid_json`, `invalid_cursor`); the message names the field.') } : {}),
      ...(route.request?.body
        ? {
            413: errorResponse(413, 'Body over 64 KiB (`payload_too_large`).'),
            415: errorResponse(415, 'A body that is not JSON (`unsupported_media_type`).'),
          }
        : {}),
    };
  }
}

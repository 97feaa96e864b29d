import { OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { scopesFor } from './auth.js';
import { ApiError } from './errors.js';
import { ErrorBody } from './schemas.js';
import { adminIssueMessage } from './validation-messages.js';

/**
 * Routes are declared once with `createRoute` (`@hono/zod-openapi`): the same zod schemas validate
 * requests and describe them in `GET /openapi.json` (OpenAPI 3.1), so the two cannot drift
 * (issue "Zapier REST hooks, an OpenAPI-described admin API…", OpenAPI and docs).
 */

/** Where the admin API's OpenAPI 3.1 document is served (unauthenticated, like `/healthz`). */
export const OPENAPI_PATH = '/openapi.json';

/** The security scheme every `/v1` route requires: the admin token or an API key. */
export const BEARER = 'bearer';

// Request validation speaks in sentences that name the field and the fix (zod 4's global error
// customisation; a schema's own message still wins).
z.config({ customError: adminIssueMessage });

/**
 * A router whose failed request validation is 400 `invalid_request` naming the first bad field, e.g.
 * `event_types.0: must be …`, `unknown field \`evnt_types\` (did you mean \`event_types\`?)` or
 * `headers: \`webhook-id\` is set by the bridge and cannot be overridden`.
 */
export function createRouter(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = (result.error as ZodError).issues[0];
      throw new ApiError(400, 'invalid_request', issue ? issueText(issue, result.target) : `${result.target}: invalid`);
    },
  });
}

/** `<field>: <message>`; an unknown-field issue names its fields itself, a record key its parent. */
function issueText(issue: ZodError['issues'][number], target: string): string {
  const path = issue.code === 'invalid_key' ? issue.path.slice(0, -1) : issue.path;
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') return field ? `${field}: ${issue.message}` : issue.message;
  return `${field || (target === 'json' ? 'body' : target)}: ${issue.message}`;
}

/** `{ content: { application/json: { schema } }, description }`: a JSON response. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

/**
 * A JSON request body. `optional` bodies may be left out (no body, no Content-Type): the handler
 * then gets `{}` unvalidated, so an optional body's fields must be optional with no defaults.
 * A body with another Content-Type is 415 either way.
 */
export function jsonBody<T extends z.ZodType>(schema: T, { optional = false } = {}) {
  return { body: { content: { 'application/json': { schema } }, required: !optional } };
}

/**
 * An error response. Its description names the codes it can carry in backticks, e.g. "No such
 * subscription (`not_found`)."; the first is the example's. A test checks every error the bridge
 * answers against them.
 * @throws Error at startup for a description that names no code.
 */
function errorResponse(description: string) {
  const code = /`([a-z]+(?:_[a-z]+)*)`/.exec(description)?.[1];
  if (!code) throw new Error(`error response "${description}" names no error code in backticks`);
  const message = description.replace(/\s*\(`[^)]*\)/g, '');
  return { content: { 'application/json': { schema: ErrorBody, example: { error: { code, message } } } }, description };
}

/** The 422 of a route that takes a subscriber URL: both codes the URL check answers. */
export const URL_REFUSED =
  'The URL is refused by the SSRF guard (`unsafe_url`), or its host name could not be resolved (`unresolvable_host`).';

/** Documented error responses of a route, by status; each description names its codes (see `errorResponse`). */
export function errors(described: Partial<Record<404 | 409 | 422 | 502, string>>) {
  const out: Record<number, ReturnType<typeof errorResponse>> = {};
  for (const [status, description] of Object.entries(described)) out[Number(status)] = errorResponse(description);
  return out;
}

/** `{ id }` path parameter with an example. */
export function idParam(example: string, description: string) {
  return z.object({
    id: z
      .string()
      .min(1)
      .openapi({ param: { name: 'id', in: 'path' }, example, description }),
  });
}

/**
 * What the `/v1` middleware (src/http/app.ts, src/http/auth.ts) adds to every route, written into
 * the document from the same `scopesFor` that enforces it: the bearer requirement, the scopes
 * (`x-required-scopes`), and the 400/401/403/413/415/429/500 it may answer. Call once, after every
 * route is added.
 */
export function describeMiddleware(app: OpenAPIHono): void {
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route' || !def.route.path.startsWith('/v1/')) continue;
    const route = def.route as RouteConfig & Record<string, unknown>;
    const scopes = scopesFor(route.method.toUpperCase(), route.path.replace(/\{([^}]+)\}/g, ':$1'));
    route.security = [{ [BEARER]: [] }];
    route['x-required-scopes'] = scopes;
    const scopeLine =
      scopes === 'admin' ? 'Admin token only.' : `Scopes: ${scopes.map((s) => `\`${s}\``).join(', ')} (the admin token has every scope).`;
    route.description = route.description ? `${route.description}\n\n${scopeLine}` : scopeLine;
    const malformedAuth = 'a malformed `Authorization` header (`unauthorized`).';
    const invalid = route.request
      ? `A parameter or the body is invalid (\`invalid_request\`, \`invalid_json\`, \`invalid_cursor\`); the message names the field. Also ${malformedAuth}`
      : `A ${malformedAuth.slice(2)}`;
    route.responses = {
      ...route.responses,
      400: errorResponse(invalid),
      401: errorResponse('No token, or not a valid admin token or API key (`unauthorized`).'),
      403: errorResponse('The API key lacks a scope this route needs (`forbidden`).'),
      413: errorResponse('Body over 64 KiB (`payload_too_large`).'),
      ...(route.request?.body
        ? { 415: errorResponse('A Content-Type other than `application/json`, even with an empty body (`unsupported_media_type`).') }
        : {}),
      429: errorResponse('Over `BRIDGE_ADMIN_RATE_LIMIT_PER_MIN` requests a minute for this token (`rate_limited`); see `Retry-After`.'),
      500: errorResponse('A bug; the log has the details under the `X-Request-Id` (`internal`).'),
    };
  }
}

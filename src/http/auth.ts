import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { ADMIN, Credentials, type Caller, type Principal } from '../services/principal.js';
import type { Scope } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { ApiError } from './errors.js';

export type { Principal } from '../services/principal.js';
export { sha256 } from '../services/principal.js';

/**
 * `Authorization: Bearer <token>` for everything under `/v1`: the admin token or an API key, checked
 * by the same `Credentials` as the console's sign-in (src/services/principal.ts). Missing or wrong
 * → 401 `{ error: { code: "unauthorized" } }`.
 */
export function authenticate(store: Store, adminToken: string): MiddlewareHandler {
  const credentials = new Credentials(store, adminToken);
  const unauthorized = (message: string) => ({ message: { error: { code: 'unauthorized', message } } });
  return bearerAuth({
    verifyToken: async (token, c) => {
      const principal = await credentials.resolve(token);
      if (!principal) return false;
      c.set('principal' as never, principal as never);
      c.set('actor' as never, principal.actor as never);
      return true;
    },
    noAuthenticationHeader: unauthorized('Authorization: Bearer <token> is required'),
    invalidAuthenticationHeader: unauthorized('Authorization header must be "Bearer <token>"'),
    invalidToken: unauthorized('invalid token'),
  });
}

export function principalOf(c: Context): Principal {
  return (c.get('principal' as never) as Principal | undefined) ?? ADMIN;
}

/** The principal and request id of a request: what the services record in the audit log. */
export function callerOf(c: Context): Caller {
  return { principal: principalOf(c), requestId: (c.get('requestId' as never) as string | undefined) ?? null };
}

/** 403 `forbidden` unless the caller holds every scope in `scopes` (the admin token holds them all). */
function requireScopes(c: Context, scopes: ReadonlyArray<Scope> | 'admin'): void {
  const p = principalOf(c);
  if (p.scopes === 'all') return;
  if (scopes === 'admin') throw new ApiError(403, 'forbidden', 'only the admin token may do this');
  const held = p.scopes;
  const missing = scopes.filter((s) => !held.has(s));
  if (missing.length > 0)
    throw new ApiError(403, 'forbidden', `this key lacks the ${missing.join(' and ')} scope${missing.length > 1 ? 's' : ''}`);
}

/**
 * The scopes a request needs, from its method and path (issue "Zapier REST hooks, … API keys with
 * scopes"): reads need `<family>:read`, changes `<family>:write`; `admin` is the admin token only.
 * Also written into `GET /openapi.json` as each operation's `x-required-scopes`.
 */
export function scopesFor(method: string, path: string): Scope[] | 'admin' {
  const read = method === 'GET' || method === 'HEAD';
  if (path.startsWith('/v1/api-keys')) return 'admin';
  if (path.startsWith('/v1/audit')) return ['audit:read'];
  if (path.startsWith('/v1/deliveries')) return ['deliveries:write'];
  // Samples are event bodies: they need the events scope as well.
  if (read && path === '/v1/hooks/sample') return ['subscriptions:read', 'events:read'];
  if (path.startsWith('/v1/subscriptions') || path.startsWith('/v1/hooks')) return [read ? 'subscriptions:read' : 'subscriptions:write'];
  if (path.startsWith('/v1/events') || path.startsWith('/v1/replay') || path.startsWith('/v1/event-types'))
    return [read ? 'events:read' : 'events:write'];
  return [read ? 'sources:read' : 'sources:write'];
}

/** Scope check for every `/v1` request (after `authenticate`), before the body is read. */
export function authorize(): MiddlewareHandler {
  return async (c, next) => {
    requireScopes(c, scopesFor(c.req.method, c.req.path));
    await next();
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { deliveryBody } from '../delivery/body.js';
import type { EventPayload, Scope, Subscription } from '../store/schema.js';
import type { Store, StoreReader } from '../store/store.js';
import { ApiError } from './errors.js';

/** Who is calling: the admin token, or an API key with its scopes. */
export interface Principal {
  actor: string;
  keyId: string | null;
  scopes: ReadonlySet<Scope> | 'all';
  /** True for keys limited to the subscriptions they created. */
  ownSubscriptionsOnly: boolean;
}

const ADMIN: Principal = { actor: 'admin', keyId: null, scopes: 'all', ownSubscriptionsOnly: false };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * `Authorization: Bearer <token>` for everything under `/v1`: the admin token (compared in constant
 * time, on digests so lengths never leak) or an API key (looked up by its SHA-256). Missing or wrong
 * → 401 `{ error: { code: "unauthorized" } }`.
 */
export function authenticate(store: Store, adminToken: string): MiddlewareHandler {
  const adminDigest = createHash('sha256').update(adminToken).digest();
  const unauthorized = (message: string) => ({ message: { error: { code: 'unauthorized', message } } });
  return bearerAuth({
    verifyToken: async (token, c) => {
      if (timingSafeEqual(createHash('sha256').update(token).digest(), adminDigest)) {
        c.set('principal' as never, ADMIN as never);
        c.set('actor' as never, 'admin' as never);
        return true;
      }
      const hash = sha256(token);
      const key = await store.findApiKeyByHash(hash);
      if (!key) return false;
      // At most once a minute, written in the background: good enough to spot unused keys.
      const now = new Date();
      if (!key.last_used_at || now.getTime() - Date.parse(key.last_used_at) > 60_000) {
        void store
          .transaction(async (tx) => {
            const current = await tx.getApiKey(key.id);
            if (current) tx.putApiKey({ ...current, last_used_at: now.toISOString() });
          })
          .catch(() => undefined);
      }
      const principal: Principal = { actor: `key:${key.name}`, keyId: key.id, scopes: new Set(key.scopes), ownSubscriptionsOnly: key.subscriptions === 'own' };
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

/** 403 `forbidden` unless the caller holds every scope in `scopes` (the admin token holds them all). */
function requireScopes(c: Context, scopes: ReadonlyArray<Scope> | 'admin'): void {
  const p = principalOf(c);
  if (p.scopes === 'all') return;
  if (scopes === 'admin') throw new ApiError(403, 'forbidden', 'only the admin token may do this');
  const held = p.scopes;
  const missing = scopes.filter((s) => !held.has(s));
  if (missing.length > 0) throw new ApiError(403, 'forbidden', `this key lacks the ${missing.join(' and ')} scope${missing.length > 1 ? 's' : ''}`);
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
  if (path.startsWith('/v1/events') || path.startsWith('/v1/replay') || path.startsWith('/v1/event-types')) return [read ? 'events:read' : 'events:write'];
  return [read ? 'sources:read' : 'sources:write'];
}

/** Scope check for every `/v1` request (after `authenticate`). */
export function authorize(): MiddlewareHandler {
  return async (c, next) => {
    requireScopes(c, scopesFor(c.req.method, c.req.path));
    await next();
  };
}

/** Whether the caller may see a subscription: keys limited to their own see only those they created. */
export function canSee(c: Context, sub: Subscription): boolean {
  const p = principalOf(c);
  return !p.ownSubscriptionsOnly || sub.owner === p.keyId;
}

/** What a caller may read of events (`eventReader`). */
export interface EventReader {
  /** The subscriptions whose deliveries make an event visible; null when every event is. */
  deliveredTo: string[] | null;
  /** The event's body as this caller may see it, or null when it is not visible. */
  read(payload: EventPayload): Promise<EventPayload | null>;
}

/**
 * What a caller may read of events: everything for the admin token and `all` keys; for a key
 * limited to its own subscriptions, only events delivered to one of them, shaped as that
 * subscription receives them (thin payloads and field allow-lists apply). An event delivered to two
 * of the key's subscriptions reads as the oldest one receives it.
 */
export async function eventReader(c: Context, store: StoreReader): Promise<EventReader> {
  const p = principalOf(c);
  if (!p.ownSubscriptionsOnly) return { deliveredTo: null, read: async (payload) => payload };
  const own = new Map((await store.listSubscriptions()).filter((s) => s.owner === p.keyId).map((s) => [s.id, s]));
  return {
    deliveredTo: [...own.keys()],
    read: async (payload) => {
      const { data } = await store.listDeliveries({ event_id: payload.id });
      const sub = data
        .map((d) => own.get(d.subscription_id))
        .filter((s): s is Subscription => s !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : 1))[0];
      return sub ? (JSON.parse(deliveryBody(payload, sub)) as EventPayload) : null;
    },
  };
}

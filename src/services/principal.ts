import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../http/errors.js';
import type { Scope } from '../store/schema.js';
import type { Store } from '../store/store.js';

/** Who is acting: the admin token, or an API key with its scopes. */
export interface Principal {
  /** `admin`, or `key:<name>`: what the audit log records. */
  actor: string;
  keyId: string | null;
  scopes: ReadonlySet<Scope> | 'all';
  /** True for keys limited to the subscriptions they created. */
  ownSubscriptionsOnly: boolean;
}

/** A principal and the request it acts through: what every audited service call needs. */
export interface Caller {
  principal: Principal;
  /** The `X-Request-Id` of the request, recorded with audit entries. */
  requestId: string | null;
}

export const ADMIN: Principal = { actor: 'admin', keyId: null, scopes: 'all', ownSubscriptionsOnly: false };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Bumps `last_used_at` at most this often: enough to spot unused keys without a write per request. */
const LAST_USED_EVERY_MS = 60_000;

/**
 * Checks the admin token and API keys: one rule for the JSON API's bearer auth and the console's
 * sign-in. The admin token is compared in constant time on SHA-256 digests (so its length never
 * leaks); API keys are looked up by their SHA-256 (they are 32 random bytes).
 */
export class Credentials {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly store: Store,
    adminToken: string,
  ) {
    this.adminDigest = createHash('sha256').update(adminToken).digest();
  }

  /** The principal a token stands for, or null for an unknown token. Records the key's use (in the background). */
  async resolve(token: string): Promise<Principal | null> {
    if (timingSafeEqual(createHash('sha256').update(token).digest(), this.adminDigest)) return ADMIN;
    const key = await this.store.findApiKeyByHash(sha256(token));
    if (!key) return null;
    const now = new Date();
    if (!key.last_used_at || now.getTime() - Date.parse(key.last_used_at) > LAST_USED_EVERY_MS) {
      void this.store
        .transaction(async (tx) => {
          const current = await tx.getApiKey(key.id);
          if (current) tx.putApiKey({ ...current, last_used_at: now.toISOString() });
        })
        .catch(() => undefined);
    }
    return principalOfKey(key);
  }

  /** The current principal of an API key (its scopes as they are now), or null once it was deleted. */
  async ofKey(keyId: string): Promise<Principal | null> {
    const key = await this.store.getApiKey(keyId);
    return key ? principalOfKey(key) : null;
  }
}

function principalOfKey(key: { id: string; name: string; scopes: readonly Scope[]; subscriptions: 'own' | 'all' }): Principal {
  return { actor: `key:${key.name}`, keyId: key.id, scopes: new Set(key.scopes), ownSubscriptionsOnly: key.subscriptions === 'own' };
}

/** Whether a principal holds every scope (the admin token holds them all). */
export function holds(p: Principal, ...scopes: Scope[]): boolean {
  return p.scopes === 'all' || scopes.every((s) => (p.scopes as ReadonlySet<Scope>).has(s));
}

/** @throws ApiError 403 `forbidden` naming the missing scopes. */
export function requireScopes(p: Principal, ...scopes: Scope[]): void {
  if (p.scopes === 'all') return;
  const held = p.scopes;
  const missing = scopes.filter((s) => !held.has(s));
  if (missing.length > 0)
    throw new ApiError(403, 'forbidden', `this key lacks the ${missing.join(' and ')} scope${missing.length > 1 ? 's' : ''}`);
}

/** @throws ApiError 403 `forbidden` unless it is the admin token. */
export function requireAdmin(p: Principal): void {
  if (p.scopes !== 'all') throw new ApiError(403, 'forbidden', 'only the admin token may do this');
}

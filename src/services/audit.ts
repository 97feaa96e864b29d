import type { AuditEntry } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { newId } from '../util/ids.js';
import { requireScopes, type Caller, type Principal } from './principal.js';
import { pageNewestFirst, type Page } from './paging.js';

/**
 * Records an admin action in the audit trail: time, actor, request id, what was acted on, and
 * details that never include secrets or record values. The caller's commit makes it durable with
 * the change it describes.
 */
export function recordAudit(store: Store, caller: Caller, action: string, target: string | null, details: Record<string, unknown> = {}): void {
  store.appendAudit({
    id: newId('aud'),
    at: new Date().toISOString(),
    action,
    actor: caller.principal.actor,
    request_id: caller.requestId,
    target,
    details,
  });
}

/**
 * The audit trail, newest first. Needs `audit:read`; a key limited to its own subscriptions sees only
 * its own actions.
 * @param since ISO time: entries at or after it.
 */
export function listAudit(store: Store, p: Principal, q: { since?: string; limit: number; before?: string }): Page<AuditEntry> {
  requireScopes(p, 'audit:read');
  const since = q.since ? new Date(q.since).toISOString() : undefined;
  const keep = (e: AuditEntry) => (!since || e.at >= since) && (!p.ownSubscriptionsOnly || e.actor === p.actor);
  return pageNewestFirst(store.data.audit, (e) => e.id, keep, q.limit, q.before);
}

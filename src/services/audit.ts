import type { AuditEntry } from '../store/schema.js';
import type { Page, Store, StoreTx } from '../store/store.js';
import { newId } from '../util/ids.js';
import { requireScopes, type Caller, type Principal } from './principal.js';

/**
 * Records an admin action in the audit trail: time, actor, request id, what was acted on, and
 * details that never include secrets or record values. Written in the caller's transaction, so it is
 * durable together with the change it describes.
 */
export function recordAudit(
  tx: StoreTx,
  caller: Caller,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
): void {
  tx.appendAudit({
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
 * @param q.since ISO time: entries at or after it.
 */
export function listAudit(store: Store, p: Principal, q: { since?: string; limit: number; before?: string }): Promise<Page<AuditEntry>> {
  requireScopes(p, 'audit:read');
  return store.listAudit({
    since: q.since ? new Date(q.since).toISOString() : undefined,
    actor: p.ownSubscriptionsOnly ? p.actor : undefined,
    limit: q.limit,
    before: q.before,
  });
}

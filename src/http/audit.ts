import type { Context } from 'hono';
import type { StoreTx } from '../store/store.js';
import { newId } from '../util/ids.js';

/**
 * Records an admin action in the audit trail (issue "Patient data", Audit log): time, actor, the
 * request's `X-Request-Id`, what was acted on, and details that never include secrets or record values.
 * Written in the route's own transaction, so it is durable together with the change it describes.
 */
export function audit(tx: StoreTx, c: Context, action: string, target: string | null, details: Record<string, unknown> = {}): void {
  tx.appendAudit({
    id: newId('aud'),
    at: new Date().toISOString(),
    action,
    actor: (c.get('actor' as never) as string | undefined) ?? 'admin',
    request_id: (c.get('requestId' as never) as string | undefined) ?? null,
    target,
    details,
  });
}

import type { Context } from 'hono';
import type { Store } from '../store/store.js';
import { newId } from '../util/ids.js';

/**
 * Records an admin action in the audit trail (issue "Patient data", Audit log): time, actor, the
 * request's `X-Request-Id`, what was acted on, and details that never include secrets or record values.
 * The route's own `store.commit()` makes it durable with the change it describes.
 */
export function audit(store: Store, c: Context, action: string, target: string | null, details: Record<string, unknown> = {}): void {
  store.appendAudit({
    id: newId('aud'),
    at: new Date().toISOString(),
    action,
    actor: (c.get('actor' as never) as string | undefined) ?? 'admin',
    request_id: (c.get('requestId' as never) as string | undefined) ?? null,
    target,
    details,
  });
}

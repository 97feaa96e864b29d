import type { Context } from 'hono';
import { recordAudit } from '../services/audit.js';
import type { StoreTx } from '../store/store.js';
import { callerOf } from './auth.js';

/**
 * Records an admin action of this request in the audit trail (src/services/audit.ts): time, actor,
 * the request's `X-Request-Id`, what was acted on, and details that never include secrets or record
 * values. Written in the route's own transaction, so it is durable together with the change it describes.
 */
export function audit(tx: StoreTx, c: Context, action: string, target: string | null, details: Record<string, unknown> = {}): void {
  recordAudit(tx, callerOf(c), action, target, details);
}

import { createRoute, z } from '@hono/zod-openapi';
import { listAudit } from '../../services/audit.js';
import { principalOf } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { createRouter, json } from '../openapi.js';
import { decodeCursor, apiPage } from '../pagination.js';
import { AuditEntry as AuditEntrySchema, isoTime, page, pageQuery } from '../schemas.js';

const list = createRoute({
  method: 'get',
  path: '/',
  tags: ['Audit'],
  summary: 'The audit log',
  description:
    'Every admin change: who, when, on what, with which request id. Never secrets or record values. A key limited to its own subscriptions sees only its own actions.',
  request: { query: z.object({ since: isoTime.optional().openapi({ description: 'At or after (UTC).' }), ...pageQuery }) },
  responses: { 200: json(page(AuditEntrySchema, 'AuditPage'), 'Newest first.') },
});

/** `GET /v1/audit`: the audit trail, newest first. */
export function auditRoutes(deps: AdminDeps) {
  return createRouter().openapi(list, async (c) => {
    const { since, limit, cursor } = c.req.valid('query');
    const page = await listAudit(deps.store, principalOf(c), { since, limit, before: cursor ? decodeCursor(cursor, 'aud') : undefined });
    return c.json(apiPage(page), 200);
  });
}

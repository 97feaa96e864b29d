import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES, type ApiKey } from '../../store/schema.js';
import { newId } from '../../util/ids.js';
import { audit } from '../audit.js';
import { sha256 } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { createRouter, errors, idParam, json, jsonBody } from '../openapi.js';
import { ApiKey as ApiKeySchema, IssuedApiKey, page } from '../schemas.js';

const createBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES, { error: `must be one of ${SCOPES.join(', ')}` })).min(1),
    subscriptions: z
      .enum(['own', 'all'])
      .default('own')
      .openapi({ description: '`own`: the key sees and changes only the subscriptions it creates.' }),
  })
  .openapi('NewApiKey', {
    example: { name: 'Zapier', scopes: ['subscriptions:read', 'subscriptions:write', 'events:read'], subscriptions: 'own' },
  });
const tags = ['API keys'];

const routes = {
  issue: createRoute({
    method: 'post',
    path: '/',
    tags,
    summary: 'Issue an API key',
    description: 'The key is in this answer only; the bridge keeps its SHA-256.',
    request: jsonBody(createBody),
    responses: { 201: json(IssuedApiKey, 'Issued.') },
  }),
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: 'List API keys',
    description: 'Never their values.',
    responses: { 200: json(page(ApiKeySchema, 'ApiKeyPage'), 'Every key.') },
  }),
  revoke: createRoute({
    method: 'delete',
    path: '/{id}',
    tags,
    summary: 'Revoke an API key',
    request: { params: idParam('key_01JD5Q2Z8Y7X6W5V4T3S2R1Q0P', 'API key id') },
    responses: { 204: { description: 'Revoked.' }, ...errors({ 404: 'No such key (`not_found`).' }) },
  }),
};

/** A key as lists show it: never its value or hash. */
function publicKey(k: ApiKey) {
  const { hash: _hash, ...rest } = k;
  return rest;
}

/** `/v1/api-keys` (admin token only): issue, list and revoke API keys. */
export function apiKeyRoutes(deps: AdminDeps) {
  const { store } = deps;
  return createRouter()
    .openapi(routes.issue, async (c) => {
      const body = c.req.valid('json');
      const value = `ceb_${randomBytes(32).toString('base64url')}`;
      const key: ApiKey = {
        id: newId('key'),
        name: body.name,
        scopes: [...new Set(body.scopes)],
        subscriptions: body.subscriptions,
        hash: sha256(value),
        prefix: value.slice(0, 10),
        created_at: new Date().toISOString(),
        last_used_at: null,
      };
      await store.transaction((tx) => {
        tx.putApiKey(key);
        audit(tx, c, 'api_key.issued', key.id, { name: key.name, scopes: key.scopes, subscriptions: key.subscriptions });
      });
      // The only time the key is shown.
      return c.json({ ...publicKey(key), key: value }, 201);
    })
    .openapi(routes.list, async (c) => c.json({ data: (await store.listApiKeys()).map(publicKey), next_cursor: null }, 200))
    .openapi(routes.revoke, async (c) => {
      const { id } = c.req.valid('param');
      const key = await store.getApiKey(id);
      if (!key) throw new ApiError(404, 'not_found', `No API key ${id}`);
      await store.transaction((tx) => {
        tx.deleteApiKey(key.id);
        audit(tx, c, 'api_key.revoked', key.id, { name: key.name });
      });
      return c.body(null, 204);
    });
}

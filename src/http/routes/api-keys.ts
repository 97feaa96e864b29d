import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { SCOPES, type ApiKey } from '../../store/schema.js';
import { newId } from '../../util/ids.js';
import { audit } from '../audit.js';
import { sha256 } from '../auth.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { validate } from '../validate.js';

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES, { error: `must be one of ${SCOPES.join(', ')}` })).min(1),
  subscriptions: z.enum(['own', 'all']).default('own'),
});

/** A key as lists show it: never its value or hash. */
function publicKey(k: ApiKey) {
  const { hash: _hash, ...rest } = k;
  return rest;
}

/** `/v1/api-keys` (admin token only): issue, list and revoke API keys. */
export function apiKeyRoutes(deps: AdminDeps) {
  const { store } = deps;
  return new Hono()
    .post('/', validate('json', createBody), async (c) => {
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
      store.putApiKey(key.id, key);
      audit(store, c, 'api_key.issued', key.id, { name: key.name, scopes: key.scopes, subscriptions: key.subscriptions });
      await store.commit();
      // The only time the key is shown.
      return c.json({ ...publicKey(key), key: value }, 201);
    })
    .get('/', (c) => c.json({ data: Object.values(store.data.api_keys).map(publicKey), next_cursor: null }))
    .delete('/:id', async (c) => {
      const key = store.data.api_keys[c.req.param('id')];
      if (!key) throw new ApiError(404, 'not_found', `No API key ${c.req.param('id')}`);
      store.putApiKey(key.id, undefined);
      audit(store, c, 'api_key.revoked', key.id, { name: key.name });
      await store.commit();
      return c.body(null, 204);
    });
}

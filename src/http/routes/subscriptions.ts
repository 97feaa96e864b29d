import { Hono } from 'hono';
import { z } from 'zod';
import { EVENT_TYPE_PATTERN } from '../../delivery/match.js';
import { generateSecret } from '../../delivery/sign.js';
import { assertSafeUrl, UnsafeUrlError } from '../../delivery/ssrf.js';
import type { Subscription } from '../../store/schema.js';
import { newId } from '../../util/ids.js';
import type { AdminDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { decodeCursor, pageNewestFirst, pageQuery } from '../pagination.js';
import { validate } from '../validate.js';

const eventTypes = z
  .array(z.string().regex(EVENT_TYPE_PATTERN, 'must be "*", "resource.kind" or "resource.*"'))
  .min(1, 'must list at least one event type')
  .max(100);
const url = z.string().max(2048).url('must be an absolute http(s) URL');
const description = z.string().max(500).nullable();

const createBody = z.strictObject({
  url,
  event_types: eventTypes.default(['*']),
  description: description.optional(),
});
const patchBody = z.strictObject({
  url: url.optional(),
  event_types: eventTypes.optional(),
  description: description.optional(),
  status: z.enum(['active', 'disabled']).optional(),
});

/** A subscription as the API shows it: everything but the secret (`GET …/secret` reveals it). */
export function publicSubscription(s: Subscription): Omit<Subscription, 'secret'> {
  const { secret: _secret, ...rest } = s;
  return rest;
}

/** `/v1/subscriptions`: create, list, read, change, delete, read secret. */
export function subscriptionRoutes(deps: AdminDeps) {
  const { store, worker } = deps;
  const find = (id: string): Subscription => {
    const s = store.data.subscriptions[id];
    if (!s) throw new ApiError(404, 'not_found', `No subscription ${id}`);
    return s;
  };
  const checkUrl = async (raw: string) => {
    try {
      await assertSafeUrl(raw, { allowPrivate: deps.allowPrivateUrls, resolve: deps.resolve });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new ApiError(422, 'unsafe_url', err.message);
      throw err;
    }
  };

  return new Hono()
    .post('/', validate('json', createBody), async (c) => {
      const body = c.req.valid('json');
      await checkUrl(body.url);
      const at = new Date().toISOString();
      const sub: Subscription = {
        id: newId('sub'),
        url: body.url,
        event_types: body.event_types,
        description: body.description ?? null,
        status: 'active',
        disabled_reason: null,
        secret: generateSecret(),
        created_at: at,
        updated_at: at,
      };
      store.data.subscriptions[sub.id] = sub;
      await store.commit();
      deps.logger.info({ subscription: sub.id, event_types: sub.event_types }, 'subscription created');
      return c.json({ ...publicSubscription(sub), secret: sub.secret }, 201);
    })
    .get('/', validate('query', z.object(pageQuery)), (c) => {
      const { limit, cursor } = c.req.valid('query');
      const all = Object.values(store.data.subscriptions).sort((a, b) => a.id.localeCompare(b.id));
      const page = pageNewestFirst(all, (s) => s.id, () => true, limit, cursor ? decodeCursor(cursor, 'sub') : undefined);
      return c.json({ data: page.data.map(publicSubscription), next_cursor: page.next_cursor });
    })
    .get('/:id', (c) => c.json(publicSubscription(find(c.req.param('id')))))
    .get('/:id/secret', (c) => c.json({ secret: find(c.req.param('id')).secret }))
    .patch('/:id', validate('json', patchBody), async (c) => {
      const sub = find(c.req.param('id'));
      const body = c.req.valid('json');
      if (body.url !== undefined) await checkUrl(body.url);
      if (body.url !== undefined) sub.url = body.url;
      if (body.event_types !== undefined) sub.event_types = body.event_types;
      if (body.description !== undefined) sub.description = body.description;
      if (body.status !== undefined && body.status !== sub.status) {
        sub.status = body.status;
        sub.disabled_reason = body.status === 'disabled' ? 'manual' : null;
      }
      sub.updated_at = new Date().toISOString();
      await store.commit();
      worker.wake();
      return c.json(publicSubscription(sub));
    })
    .delete('/:id', async (c) => {
      const sub = find(c.req.param('id'));
      delete store.data.subscriptions[sub.id];
      // Its deliveries (and their attempts) go with it; pending ones are never sent.
      const removed = Object.values(store.data.deliveries).filter((d) => d.subscription_id === sub.id).map((d) => d.id);
      for (const id of removed) delete store.data.deliveries[id];
      worker.forget(removed);
      await store.commit();
      deps.logger.info({ subscription: sub.id }, 'subscription deleted');
      return c.body(null, 204);
    });
}

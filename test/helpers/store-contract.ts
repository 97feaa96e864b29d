import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withSubscriptionDefaults, type ApiKey, type AuditEntry, type Delivery, type StoredEvent } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';

/**
 * What every `Store` backend must do, run by each backend's own test file. `open` gives a fresh,
 * empty store; `reopen` closes it and opens the same data again (a restart).
 */
export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Closes `store` and opens the same data again. */
  reopen(store: Store): Promise<Store>;
  /** Removes everything `open` made. */
  cleanup(): Promise<void>;
}

export function event(
  id: string,
  timestamp = '2026-11-23T06:00:00.000Z',
  over: Partial<StoredEvent['payload']['data']> & { type?: string } = {},
): StoredEvent {
  const { type = 'contact.updated', ...data } = over;
  return {
    payload: { id, type, timestamp, data: { source: 'cliniko', resource: 'contact', id: '1', object: { id: '1' }, ...data } },
    dispatched: false,
  };
}

export function delivery(id: string, eventId: string, subId: string, over: Partial<Delivery> = {}): Delivery {
  return {
    id,
    event_id: eventId,
    subscription_id: subId,
    status: 'pending',
    trigger: 'dispatch',
    attempt_count: 0,
    next_attempt_at: null,
    final_attempt: false,
    created_at: '2026-11-23T06:00:00.000Z',
    updated_at: '2026-11-23T06:00:00.000Z',
    attempts: [],
    ...over,
  };
}

const sub = (id: string, over = {}) =>
  withSubscriptionDefaults({
    id,
    url: 'https://x.example/h',
    secret: 'whsec_x',
    created_at: `2026-11-23T06:00:0${id.slice(-1)}.000Z`,
    ...over,
  });
const key = (id: string, hash: string): ApiKey => ({
  id,
  name: id,
  scopes: ['events:read'],
  subscriptions: 'own',
  hash,
  prefix: 'ceb_x',
  created_at: '2026-11-23T06:00:00.000Z',
  last_used_at: null,
});
const auditEntry = (id: string, at: string, actor = 'admin'): AuditEntry => ({
  id,
  at,
  action: 'subscription.created',
  actor,
  request_id: null,
  target: null,
  details: {},
});
const ids = (list: Array<{ id: string }>) => list.map((x) => x.id);
const eventIds = (list: StoredEvent[]) => list.map((e) => e.payload.id);

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close().catch(() => undefined);
      await factory.cleanup();
    });
    const restart = async () => {
      store = await factory.reopen(store);
      return store;
    };

    it('keeps what a transaction wrote across a restart: subscriptions, keys, cursors, snapshots, events', async () => {
      await store.transaction(async (tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.putApiKey(key('key_1', 'ab'.repeat(32)));
        tx.putResource('cliniko:contacts', {
          cursor: { updated_at: '2026-11-23T06:00:00Z' },
          last_poll_at: null,
          last_success_at: null,
          last_error: null,
        });
        tx.putSnapshot('cliniko:contacts', '1', { version: '2026-11-23T06:00:00Z', record: { id: '1', first_name: 'Jo' } });
        tx.appendEvents([event('evt_1')]);
      });
      await restart();
      expect(ids(await store.listSubscriptions())).toEqual(['sub_1']);
      expect((await store.findApiKeyByHash('ab'.repeat(32)))?.id).toBe('key_1');
      expect((await store.getResource('cliniko:contacts'))?.cursor).toEqual({ updated_at: '2026-11-23T06:00:00Z' });
      expect((await store.getSnapshots('cliniko:contacts', ['1', '2'])).get('1')?.record).toEqual({ id: '1', first_name: 'Jo' });
      expect(eventIds((await store.listEvents({})).data)).toEqual(['evt_1']);
    });

    it('writes nothing of a transaction whose function throws', async () => {
      await store.transaction((tx) => tx.putSubscription(sub('sub_1')));
      const err = await store
        .transaction(async (tx) => {
          tx.putSubscription(sub('sub_1', { url: 'https://changed.example/h' }));
          tx.putSubscription(sub('sub_2'));
          tx.appendEvents([event('evt_1')]);
          tx.putSnapshot('cliniko:contacts', '1', { version: 'v', record: { id: '1' } });
          await tx.deleteSubscription('sub_1');
          throw new Error('changed my mind');
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe('changed my mind');
      expect(ids(await store.listSubscriptions())).toEqual(['sub_1']);
      expect((await store.getSubscription('sub_1'))?.url).toBe('https://x.example/h');
      expect((await store.listEvents({})).data).toEqual([]);
      expect((await store.getSnapshots('cliniko:contacts', ['1'])).size).toBe(0);
      await restart();
      expect(ids(await store.listSubscriptions())).toEqual(['sub_1']);
      expect((await store.listEvents({})).data).toEqual([]);
    });

    it('reads its own writes inside a transaction', async () => {
      await store.transaction(async (tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.appendEvents([event('evt_1')]);
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1'));
        expect((await tx.getSubscription('sub_1'))?.id).toBe('sub_1');
        expect((await tx.getEvent('evt_1'))?.payload.id).toBe('evt_1');
        expect(ids((await tx.listDeliveries({ event_id: 'evt_1' })).data)).toEqual(['dlv_1']);
      });
    });

    it('hands out values nobody can change in place', async () => {
      await store.transaction((tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.appendEvents([event('evt_1')]);
      });
      const s = (await store.getSubscription('sub_1'))!;
      expect(() => {
        (s as { url: string }).url = 'https://evil.example';
      }).toThrow(TypeError);
      const e = (await store.getEvent('evt_1'))!;
      expect(() => {
        (e.payload.data.object as Record<string, unknown>).first_name = 'X';
      }).toThrow(TypeError);
      expect((await store.getSubscription('sub_1'))!.url).toBe('https://x.example/h');
    });

    it('marks events dispatched with their deliveries, and lists the undispatched ones', async () => {
      await store.transaction((tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.appendEvents([event('evt_1'), event('evt_2'), event('evt_3')]);
      });
      await store.transaction((tx) => {
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1'));
        tx.markDispatched(['evt_1', 'evt_3']);
      });
      expect(eventIds((await store.listEvents({ undispatched: true })).data)).toEqual(['evt_2']);
      await restart();
      expect(eventIds((await store.listEvents({ undispatched: true })).data)).toEqual(['evt_2']);
      expect((await store.getEvent('evt_1'))?.dispatched).toBe(true);
    });

    it('lists events newest first with filters and pages', async () => {
      await store.transaction((tx) =>
        tx.appendEvents([
          event('evt_01', '2026-11-23T06:00:00.000Z', { type: 'patient.created', resource: 'patient', id: '7' }),
          event('evt_02', '2026-11-23T07:00:00.000Z', { type: 'attendee.cancelled', resource: 'attendee', id: '8' }),
          event('evt_03', '2026-11-23T08:00:00.000Z', { type: 'patient.updated', resource: 'patient', id: '7' }),
          event('evt_04', '2026-11-23T09:00:00.000Z', { type: 'patient.updated', resource: 'patient', id: '9' }),
        ]),
      );
      expect(eventIds((await store.listEvents({})).data)).toEqual(['evt_04', 'evt_03', 'evt_02', 'evt_01']);
      expect(eventIds((await store.listEvents({ types: ['patient.*'] })).data)).toEqual(['evt_04', 'evt_03', 'evt_01']);
      expect(eventIds((await store.listEvents({ resource: 'patient', record_id: '7' })).data)).toEqual(['evt_03', 'evt_01']);
      expect(eventIds((await store.listEvents({ since: '2026-11-23T07:00:00.000Z', until: '2026-11-23T09:00:00.000Z' })).data)).toEqual([
        'evt_03',
        'evt_02',
      ]);
      const first = await store.listEvents({ limit: 3 });
      expect(eventIds(first.data)).toEqual(['evt_04', 'evt_03', 'evt_02']);
      expect(first.next).toBe('evt_02');
      const second = await store.listEvents({ limit: 3, before: first.next! });
      expect(eventIds(second.data)).toEqual(['evt_01']);
      expect(second.next).toBeNull();
    });

    it('lists only the events delivered to given subscriptions', async () => {
      await store.transaction((tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.putSubscription(sub('sub_2'));
        tx.appendEvents([event('evt_1'), event('evt_2'), event('evt_3')]);
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1'));
        tx.putDelivery(delivery('dlv_2', 'evt_2', 'sub_2'));
        tx.putDelivery(delivery('dlv_3', 'evt_3', 'sub_1'));
      });
      expect(eventIds((await store.listEvents({ delivered_to: ['sub_1'] })).data)).toEqual(['evt_3', 'evt_1']);
      expect(eventIds((await store.listEvents({ delivered_to: [] })).data)).toEqual([]);
    });

    it('finds deliveries by event, subscription and status; deleting a subscription deletes its deliveries', async () => {
      await store.transaction((tx) => {
        for (const s of ['sub_1', 'sub_2']) tx.putSubscription(sub(s));
        tx.appendEvents([event('evt_1'), event('evt_2')]);
        tx.putDelivery(delivery('dlv_3', 'evt_1', 'sub_2'));
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1', { status: 'failed' }));
        tx.putDelivery(delivery('dlv_2', 'evt_2', 'sub_1'));
      });
      expect(ids((await store.listDeliveries({ event_id: 'evt_1' })).data)).toEqual(['dlv_3', 'dlv_1']);
      expect(ids((await store.listDeliveries({ subscription_id: 'sub_1' })).data)).toEqual(['dlv_2', 'dlv_1']);
      expect(ids((await store.listDeliveries({ subscription_id: 'sub_1', status: 'failed' })).data)).toEqual(['dlv_1']);
      expect(ids((await store.listDeliveries({ status: 'pending' })).data)).toEqual(['dlv_3', 'dlv_2']);
      await store.transaction((tx) => tx.deleteSubscription('sub_2'));
      expect(await store.getDelivery('dlv_3')).toBeUndefined();
      await restart();
      expect(ids((await store.listDeliveries({ event_id: 'evt_1' })).data)).toEqual(['dlv_1']);
      expect(ids((await store.listDeliveries({ subscription_id: 'sub_2' })).data)).toEqual([]);
      expect(await store.getSubscription('sub_2')).toBeUndefined();
    });

    it('replaces a delivery whole, attempts included', async () => {
      await store.transaction((tx) => {
        tx.appendEvents([event('evt_1')]);
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1'));
      });
      const attempt = {
        id: 'att_1',
        attempted_at: '2026-11-23T06:00:01.000Z',
        duration_ms: 12,
        status_code: 200,
        error: null,
        response_excerpt: 'ok',
        response_headers: {},
        trigger: 'schedule' as const,
      };
      await store.transaction(async (tx) => {
        const d = (await tx.getDelivery('dlv_1'))!;
        tx.putDelivery({ ...d, status: 'succeeded', attempt_count: 1, attempts: [...d.attempts, attempt] });
      });
      await restart();
      const d = (await store.getDelivery('dlv_1'))!;
      expect(d.status).toBe('succeeded');
      expect(d.attempts).toEqual([attempt]);
    });

    it('keeps snapshots per resource, deletes them, and lists the live ones', async () => {
      await store.transaction((tx) => {
        tx.putSnapshot('cliniko:patients', '1', { version: 'a', record: { id: '1' } });
        tx.putSnapshot('cliniko:patients', '2', { version: 'b', record: { id: '2', deleted_at: '2026-11-23T06:00:00Z' } });
        tx.putSnapshot('cliniko:patients', '3', { version: 'c', record: { id: '3' } });
        tx.putSnapshot('cliniko:contacts', '1', { version: 'd', record: { id: '1', first_name: 'Other' } });
      });
      await store.transaction((tx) => tx.deleteSnapshot('cliniko:patients', '3'));
      await restart();
      expect((await store.liveSnapshotIds('cliniko:patients')).sort()).toEqual(['1']);
      expect(await store.countSnapshots('cliniko:patients')).toBe(2);
      const live: string[] = [];
      for await (const [id] of store.liveSnapshots('cliniko:patients')) live.push(id);
      expect(live).toEqual(['1']);
      const got = await store.getSnapshots('cliniko:patients', ['1', '2', '3']);
      expect([...got.keys()].sort()).toEqual(['1', '2']);
      expect((await store.getSnapshots('cliniko:contacts', ['1'])).get('1')?.record).toEqual({ id: '1', first_name: 'Other' });
    });

    it('lists audit entries newest first, by actor and since a time', async () => {
      await store.transaction((tx) => {
        tx.appendAudit(auditEntry('aud_1', '2026-11-23T06:00:00.000Z'));
        tx.appendAudit(auditEntry('aud_2', '2026-11-23T07:00:00.000Z', 'key:zapier'));
        tx.appendAudit(auditEntry('aud_3', '2026-11-23T08:00:00.000Z'));
      });
      await restart();
      expect(ids((await store.listAudit({})).data)).toEqual(['aud_3', 'aud_2', 'aud_1']);
      expect(ids((await store.listAudit({ actor: 'key:zapier' })).data)).toEqual(['aud_2']);
      expect(ids((await store.listAudit({ since: '2026-11-23T07:00:00.000Z' })).data)).toEqual(['aud_3', 'aud_2']);
      const page = await store.listAudit({ limit: 2 });
      expect(page.next).toBe('aud_2');
    });

    it('compacts old delivered events and their deliveries, keeps failed, pending and recent ones', async () => {
      const old = '2026-10-01T00:00:00.000Z';
      const ev = (id: string, ts: string) => ({ ...event(id, ts), dispatched: true });
      await store.transaction((tx) => {
        tx.appendEvents([
          ev('evt_01', old),
          ev('evt_02', old),
          ev('evt_03', old),
          ev('evt_04', old),
          ev('evt_05', '2026-11-20T00:00:00.000Z'),
        ]);
        const d = (id: string, eventId: string, status: Delivery['status']) =>
          tx.putDelivery(delivery(id, eventId, 'sub_1', { status, created_at: old, updated_at: old }));
        d('dlv_1', 'evt_01', 'succeeded');
        d('dlv_2', 'evt_02', 'failed');
        d('dlv_3', 'evt_03', 'pending');
        d('dlv_5', 'evt_05', 'succeeded');
        // evt_04 had no subscriber at all.
        tx.appendAudit(auditEntry('aud_1', old));
      });
      expect(await store.compact('2026-10-24T12:00:00.000Z')).toEqual({ events: 2, deliveries: 1, audit: 1 });
      await restart();
      expect(eventIds((await store.listEvents({})).data)).toEqual(['evt_05', 'evt_03', 'evt_02']);
      expect(ids((await store.listDeliveries({})).data)).toEqual(['dlv_5', 'dlv_3', 'dlv_2']);
      expect((await store.counts()).audit).toBe(0);
    });

    it('counts what it holds', async () => {
      await store.transaction((tx) => {
        tx.putSubscription(sub('sub_1'));
        tx.appendEvents([event('evt_1'), event('evt_2')]);
        tx.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1', { status: 'succeeded' }));
        tx.putSnapshot('cliniko:patients', '1', { version: 'a', record: { id: '1' } });
      });
      expect(await store.counts()).toEqual({
        subscriptions: 1,
        api_keys: 0,
        events: 2,
        deliveries: { pending: 0, succeeded: 1, failed: 0 },
        audit: 0,
        snapshots: { 'cliniko:patients': 1 },
      });
      expect(store.health()).toMatchObject({ writable: true, reason: null });
    });

    it('gives concurrent transactions each its own durable result', async () => {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.transaction((tx) => tx.appendEvents([event(`evt_${String(i).padStart(3, '0')}`)]))),
      );
      await restart();
      expect((await store.listEvents({})).data).toHaveLength(50);
    });
  });
}

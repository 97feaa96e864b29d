import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Poller } from '../src/poller/poller.js';
import { ClinikoClient } from '../src/sources/cliniko/client.js';
import { ClinikoFeed } from '../src/sources/cliniko/feed.js';
import { clinikoResource } from '../src/sources/cliniko/resources.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { delivery, event } from './helpers/store-contract.js';

describe('lowdb store layout', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-layout-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('keeps every snapshot file small and no record body in memory after a checkpoint, however large the account', async () => {
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.seed({ patients: 2_000 });
    const { baseUrl } = await sim.listen();
    // Small buckets, so a test-sized account spans many of them as a large one spans many 512 KiB ones.
    const maxBucketBytes = 64 * 1024;
    const store = new LowdbStore(dir, { maxBucketBytes });
    await store.load();
    const client = new ClinikoClient({
      baseUrl,
      apiKey: 'sim-key-au1',
      userAgent: 'test (t@example.com)',
      rateLimitPerMin: 100_000,
      requestTimeoutMs: 30_000,
    });
    const feed = new ClinikoFeed(clinikoResource('patients')!, client, { perPage: 100, overlapMs: 120_000 });
    const poller = new Poller({ store, feeds: [feed], logger: pino({ level: 'silent' }), backfill: false, onEvents: () => undefined });
    try {
      await poller.pollNow();
      await store.checkpoint();
      const mem = store.memory();
      expect(await store.countSnapshots('cliniko:patients')).toBe(2_000);
      const recordBytes = JSON.stringify(sim.all('patients')[0]).length;
      // Many buckets, none larger than the limit plus one record.
      expect(mem.buckets).toBeGreaterThan(20);
      expect(mem.largestBucketBytes).toBeLessThanOrEqual(maxBucketBytes + recordBytes + 100);
      for (const name of (await readdir(dir)).filter((n) => n.startsWith('snap.'))) {
        expect((await stat(join(dir, name))).size, name).toBeLessThanOrEqual(maxBucketBytes + recordBytes + 200);
      }
      // Nothing of the 2,000 records is held in memory but a few parsed buckets.
      expect(mem.pendingRecords).toBe(0);
      expect(mem.cachedBuckets).toBeLessThanOrEqual(4 * mem.tables);

      // A change reads the previous version back from disk: previous_attributes still work.
      const target = sim.all('patients')[1234]!;
      sim.update('patients', target.id, { first_name: 'Changed' });
      const emitted: string[] = [];
      const poller2 = new Poller({
        store,
        feeds: [feed],
        logger: pino({ level: 'silent' }),
        backfill: false,
        onEvents: (ids) => emitted.push(...ids),
      });
      await poller2.pollNow();
      const [e] = await Promise.all(emitted.map((id) => store.getEvent(id)));
      expect(e?.payload.type).toBe('patient.updated');
      expect(e?.payload.data.previous_attributes).toMatchObject({ first_name: target.first_name });

      // A checkpoint after one change rewrites one snapshot bucket, not the account.
      const before = new Set((await readdir(dir)).filter((n) => n.startsWith('snap.')));
      await store.checkpoint();
      const written = (await readdir(dir)).filter((n) => n.startsWith('snap.') && !before.has(n));
      expect(written).toHaveLength(1);
      await poller2.stop();
      await poller.stop();
    } finally {
      await store.close();
      await client.close();
      await sim.close();
    }
  }, 120_000);

  it('keeps event bodies and deliveries on disk in bounded files: a restart reads only the small indexes', async () => {
    const maxBucketBytes = 64 * 1024;
    const a = new LowdbStore(dir, { maxBucketBytes });
    await a.load();
    // 3,000 events of about 2 KB each, every one with a delivery and an attempt: ~7 MB of bodies.
    const body = { id: '0', notes: 'x'.repeat(2_000) };
    const ids = Array.from({ length: 3_000 }, (_, i) => `evt_${String(i).padStart(6, '0')}`);
    for (let i = 0; i < ids.length; i += 500) {
      await a.transaction((tx) => {
        for (const id of ids.slice(i, i + 500)) {
          const n = id.slice(4);
          tx.appendEvents([{ ...event(id, '2026-11-23T06:00:00.000Z', { id: n, object: { ...body, id: n } }), dispatched: true }]);
          tx.putDelivery({
            ...delivery(`dlv_${n}`, id, 'sub_1', { status: 'succeeded', attempt_count: 1 }),
            attempts: [
              {
                id: `att_${n}`,
                attempted_at: '2026-11-23T06:00:01.000Z',
                duration_ms: 3,
                status_code: 204,
                error: null,
                response_excerpt: 'ok'.repeat(200),
                response_headers: {},
                trigger: 'schedule',
              },
            ],
          });
        }
      });
    }
    await a.close();
    const recordBytes = 3_000;
    for (const name of await readdir(dir)) {
      if (!/^(evt|dlb|evi|dli)\./.test(name)) continue;
      expect((await stat(join(dir, name))).size, name).toBeLessThanOrEqual(maxBucketBytes + recordBytes);
    }
    expect((await readdir(dir)).filter((n) => n.startsWith('evt.')).length).toBeGreaterThan(50);

    const b = new LowdbStore(dir, { maxBucketBytes });
    await b.load();
    const mem = b.memory();
    // No event body and no delivery was read; nothing is pending or cached.
    expect(mem.bucketsRead.evt).toBe(0);
    expect(mem.bucketsRead.dlb).toBe(0);
    expect(mem.bucketsRead.evi! + mem.bucketsRead.dli!).toBeLessThan(30);
    expect(mem.pendingRecords).toBe(0);
    expect(mem.cachedBuckets).toBe(0);
    expect((await b.counts()).events).toBe(3_000);
    // Everything still reads back, through one or two bucket files each.
    expect((await b.listEvents({ record_id: '001234' })).data.map((e) => e.payload.data.object)).toEqual([{ ...body, id: '001234' }]);
    expect((await b.listDeliveries({ event_id: 'evt_002999' })).data[0]?.attempts).toHaveLength(1);
    expect((await b.listDeliveries({ status: 'succeeded', limit: 10 })).data).toHaveLength(10);
    expect(b.memory().cachedBuckets).toBeLessThanOrEqual(4);
    await b.close();
  }, 120_000);

  it('migrates a version 2 data directory at the first start, keeping the old files until the new manifest is written', async () => {
    // The layout of the previous release: one file per resource's snapshots, events and deliveries per hour.
    const sub = withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x' });
    const e1 = { ...event('evt_01', '2026-11-23T06:00:00.000Z'), dispatched: true };
    const e2 = event('evt_02', '2026-11-23T06:30:00.000Z');
    const attempt = {
      id: 'att_1',
      attempted_at: '2026-11-23T06:00:01.000Z',
      duration_ms: 9,
      status_code: 204,
      error: null,
      response_excerpt: null,
      response_headers: {},
      trigger: 'schedule',
    };
    const files: Record<string, unknown> = {
      'meta.g3.json': {
        kind: 'meta',
        subscriptions: { sub_1: sub },
        resources: { 'cliniko:patients': { cursor: { updated_at: 'x' }, last_poll_at: null, last_success_at: null, last_error: null } },
        api_keys: {},
      },
      'snap.cliniko.patients.g3.json': {
        kind: 'snap',
        key: 'cliniko:patients',
        snapshots: { '1': { version: 'a', record: { id: '1', first_name: 'Jo' } }, '2': { version: 'b', record: { id: '2' } } },
      },
      'evt.2026-11-23T06.g3.json': { kind: 'evt', events: [e1] },
      'dlv.2026-11-23T06.g3.json': {
        kind: 'dlv',
        deliveries: [
          {
            id: 'dlv_1',
            event_id: 'evt_01',
            subscription_id: 'sub_1',
            status: 'succeeded',
            trigger: 'dispatch',
            attempt_count: 1,
            next_attempt_at: null,
            final_attempt: false,
            created_at: '2026-11-23T06:00:00.000Z',
            updated_at: '2026-11-23T06:00:00.000Z',
            attempts: [attempt],
          },
        ],
      },
      'manifest.json': {
        version: 2,
        gen: 3,
        parts: {
          meta: 'meta.g3.json',
          'snap.cliniko.patients': 'snap.cliniko.patients.g3.json',
          'evt.2026-11-23T06': 'evt.2026-11-23T06.g3.json',
          'dlv.2026-11-23T06': 'dlv.2026-11-23T06.g3.json',
        },
      },
    };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), JSON.stringify(content));
    // Committed after that checkpoint: a journal line, and a bucket file a killed migration left behind.
    await writeFile(
      join(dir, 'journal.3.ndjson'),
      `${JSON.stringify({
        seq: 9,
        ops: [
          { t: 'evt', id: 'evt_02', v: e2 },
          { t: 'snap', k: 'cliniko:patients', id: '3', v: { version: 'c', record: { id: '3' } } },
        ],
      })}\n`,
    );
    await writeFile(join(dir, 'snap.cliniko.patients.0.g4.json'), '{"kind":"range","table":"snap.cliniko.patients","lo":null,"rec');

    const a = new LowdbStore(dir);
    await a.load();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(4);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json.bak'), 'utf8')).version).toBe(2);
    // The old files stay with the backup manifest until the next checkpoint.
    expect(await readdir(dir)).toContain('snap.cliniko.patients.g3.json');
    await a.close();

    const b = new LowdbStore(dir);
    await b.load();
    expect((await b.getSnapshots('cliniko:patients', ['1', '2', '3'])).size).toBe(3);
    expect((await b.getSnapshots('cliniko:patients', ['1'])).get('1')?.record).toEqual({ id: '1', first_name: 'Jo' });
    expect((await b.listEvents({})).data.map((e) => [e.payload.id, e.dispatched])).toEqual([
      ['evt_02', false],
      ['evt_01', true],
    ]);
    expect(await b.getDelivery('dlv_1')).toMatchObject({ status: 'succeeded', attempts: [attempt] });
    expect((await b.getResource('cliniko:patients'))?.cursor).toEqual({ updated_at: 'x' });
    expect((await b.getSubscription('sub_1'))?.url).toBe('https://x.example/h');
    await b.transaction((tx) => tx.appendEvents([event('evt_03')]));
    await b.checkpoint();
    await b.close();
    // Two checkpoints later nothing of version 2 is left.
    expect((await readdir(dir)).filter((n) => /g3\.json$/.test(n))).toEqual([]);
  });

  it('migrates a version 3 data directory: event index and deliveries into tables, old files kept until the new manifest is written', async () => {
    // The previous release: snapshots, event bodies and attempts in range tables, deliveries (without
    // attempts) in hourly parts, no event index.
    const sub = withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x' });
    const e1 = event('evt_01', '2026-11-23T06:00:00.000Z', { resource: 'patient', id: '7' });
    const e2 = event('evt_02', '2026-11-23T06:30:00.000Z');
    const attempt = {
      id: 'att_1',
      attempted_at: '2026-11-23T06:00:01.000Z',
      duration_ms: 9,
      status_code: 503,
      error: 'http_status',
      response_excerpt: null,
      response_headers: {},
      trigger: 'schedule',
    };
    const d1 = {
      id: 'dlv_1',
      event_id: 'evt_01',
      subscription_id: 'sub_1',
      status: 'pending',
      trigger: 'dispatch',
      attempt_count: 1,
      next_attempt_at: '2026-11-23T06:01:00.000Z',
      final_attempt: false,
      created_at: '2026-11-23T06:00:00.000Z',
      updated_at: '2026-11-23T06:00:01.000Z',
      attempts: [],
    };
    const bucket = (table: string, records: Record<string, unknown>) => ({ kind: 'range', table, lo: null, records });
    const meta = (file: string, count: number) => ({ lo: null, file, count, counted: count, bytes: 100 });
    const files: Record<string, unknown> = {
      'meta.g5.json': { kind: 'meta', subscriptions: { sub_1: sub }, resources: {}, api_keys: {}, undispatched: ['evt_02'] },
      'dlv.2026-11-23T06.g5.json': { kind: 'dlv', deliveries: [d1] },
      'snap.cliniko.patients.0.g5.json': bucket('snap.cliniko.patients', { '7': { version: 'a', record: { id: '7' } } }),
      'evt.0.g5.json': bucket('evt', { evt_01: e1.payload, evt_02: e2.payload }),
      'att.0.g5.json': bucket('att', { dlv_1: [attempt] }),
      'manifest.json': {
        version: 3,
        gen: 5,
        parts: { meta: 'meta.g5.json', 'dlv.2026-11-23T06': 'dlv.2026-11-23T06.g5.json' },
        snapshots: { 'cliniko:patients': [meta('snap.cliniko.patients.0.g5.json', 1)] },
        events: [meta('evt.0.g5.json', 2)],
        attempts: [meta('att.0.g5.json', 1)],
      },
    };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), JSON.stringify(content));
    // Committed after that checkpoint: a second delivery; and a bucket file a killed migration left behind.
    const d2 = { ...d1, id: 'dlv_2', event_id: 'evt_02', status: 'succeeded', attempts: [{ ...attempt, id: 'att_2', status_code: 204 }] };
    await writeFile(join(dir, 'journal.5.ndjson'), `${JSON.stringify({ seq: 4, ops: [{ t: 'dlv', id: 'dlv_2', v: d2 }] })}\n`);
    await writeFile(join(dir, 'dlb.0.g6.json'), '{"kind":"range","table":"dlb","lo":null,"rec');

    const a = new LowdbStore(dir);
    await a.load();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(4);
    expect(manifest.parts).toEqual({ meta: expect.any(String) });
    expect(manifest.eventIndex).toHaveLength(1);
    expect(manifest.deliveries).toHaveLength(1);
    expect(manifest.deliveryIndex).toHaveLength(1);
    expect(manifest.attempts).toBeUndefined();
    expect(JSON.parse(await readFile(join(dir, 'manifest.json.bak'), 'utf8')).version).toBe(3);
    // The old files stay with the backup manifest until the next checkpoint.
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['dlv.2026-11-23T06.g5.json', 'att.0.g5.json', 'evt.0.g5.json']));
    await a.close();

    const b = new LowdbStore(dir);
    await b.load();
    // This start read the indexes only: no event body, no delivery.
    expect(b.memory().bucketsRead).toMatchObject({ evt: 0, dlb: 0, evi: 1, dli: 1 });
    expect((await b.listEvents({})).data.map((e) => [e.payload.id, e.dispatched])).toEqual([
      ['evt_02', false],
      ['evt_01', true],
    ]);
    expect((await b.listEvents({ resource: 'patient', record_id: '7' })).data.map((e) => e.payload.id)).toEqual(['evt_01']);
    expect(await b.getDelivery('dlv_1')).toEqual({ ...d1, attempts: [attempt] });
    expect(await b.getDelivery('dlv_2')).toEqual(d2);
    expect((await b.listDeliveries({ event_id: 'evt_01' })).data.map((d) => d.id)).toEqual(['dlv_1']);
    expect((await b.listDeliveries({ status: 'pending' })).data.map((d) => d.id)).toEqual(['dlv_1']);
    expect((await b.counts()).deliveries).toEqual({ pending: 1, succeeded: 1, failed: 0 });
    expect((await b.getSnapshots('cliniko:patients', ['7'])).get('7')?.record).toEqual({ id: '7' });
    await b.transaction((tx) => tx.appendEvents([event('evt_03')]));
    await b.checkpoint();
    await b.close();
    // Two checkpoints later the parts only version 3 had are gone.
    expect((await readdir(dir)).filter((n) => /^(dlv|att)\./.test(n))).toEqual([]);
  });
});

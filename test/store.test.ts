import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreCorruptError } from '../src/store/durable-file.js';
import { StoreLockedError } from '../src/store/lock.js';
import { withSubscriptionDefaults, type StoredEvent } from '../src/store/schema.js';
import { Store } from '../src/store/store.js';
import { holdLock } from './helpers/lock.js';
import { kill } from './helpers/process.js';

function event(id: string, timestamp = '2026-11-23T06:00:00.000Z'): StoredEvent {
  return { payload: { id, type: 'contact.updated', timestamp, data: { source: 'cliniko', resource: 'contact', id: '1', object: { id: '1' } } }, dispatched: false };
}

describe('store', () => {
  let dir: string;
  const open: Store[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-store-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const openStore = async (options = {}) => {
    const s = new Store(dir, options);
    await s.load();
    open.push(s);
    return s;
  };
  /** Simulates a crash: the process dies without close() — no checkpoint, no lock release. */
  const abandon = (s: Store) => {
    open.splice(open.indexOf(s), 1);
  };

  it('recovers committed changes from the journal after a crash, and only those', async () => {
    const a = await openStore();
    a.putSubscription(withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x' }));
    a.putSnapshot('cliniko:contacts', '1', { version: '2026-11-23T06:00:00Z', record: { id: '1', first_name: 'Jo' } });
    a.resourceState('cliniko:contacts').cursor = { updated_at: '2026-11-23T06:00:00Z' };
    a.touchResource('cliniko:contacts');
    a.appendEvents([event('evt_1')]);
    await a.commit();
    // Changed in memory but never committed: must not survive.
    a.appendEvents([event('evt_2')]);
    abandon(a);

    const b = new Store(dir);
    await b.load();
    open.push(b);
    expect(Object.keys(b.data.subscriptions)).toEqual(['sub_1']);
    expect(b.data.snapshots['cliniko:contacts']!['1']!.record).toEqual({ id: '1', first_name: 'Jo' });
    expect(b.data.resources['cliniko:contacts']!.cursor).toEqual({ updated_at: '2026-11-23T06:00:00Z' });
    expect(b.data.events.map((e) => e.payload.id)).toEqual(['evt_1']);
  });

  it('finds deliveries by event and by subscription, after deletes and after a reload', async () => {
    const a = await openStore();
    const delivery = (id: string, eventId: string, subId: string) => ({
      id, event_id: eventId, subscription_id: subId, status: 'pending' as const, trigger: 'dispatch' as const, attempt_count: 0,
      next_attempt_at: null, final_attempt: false, created_at: '2026-11-23T06:00:00.000Z', updated_at: '2026-11-23T06:00:00.000Z', attempts: [],
    });
    for (const sub of ['sub_1', 'sub_2']) a.putSubscription(withSubscriptionDefaults({ id: sub, url: 'https://x.example/h', secret: 'whsec_x' }));
    a.putDelivery(delivery('dlv_3', 'evt_1', 'sub_2'));
    a.putDelivery(delivery('dlv_1', 'evt_1', 'sub_1'));
    a.putDelivery(delivery('dlv_2', 'evt_2', 'sub_1'));
    a.deleteDelivery('dlv_2');
    await a.commit();
    const ids = (list: Array<{ id: string }>) => list.map((d) => d.id);
    expect(ids(a.deliveriesOfEvent('evt_1'))).toEqual(['dlv_1', 'dlv_3']);
    expect(ids(a.deliveriesOfEvent('evt_2'))).toEqual([]);
    expect(ids(a.deliveriesOfSubscription('sub_1'))).toEqual(['dlv_1']);
    expect(a.deleteSubscription('sub_2')).toEqual(['dlv_3']);
    await a.commit();
    abandon(a);

    // Rebuilt from the journal on load.
    const b = new Store(dir);
    await b.load();
    open.push(b);
    expect(ids(b.deliveriesOfEvent('evt_1'))).toEqual(['dlv_1']);
    expect(ids(b.deliveriesOfSubscription('sub_1'))).toEqual(['dlv_1']);
    expect(ids(b.deliveriesOfSubscription('sub_2'))).toEqual([]);
  });

  it('groups concurrent commits into shared journal lines', async () => {
    const s = await openStore();
    const commits = [];
    for (let i = 0; i < 50; i++) {
      s.appendEvents([event(`evt_${String(i).padStart(3, '0')}`)]);
      commits.push(s.commit());
    }
    await Promise.all(commits);
    expect(s.stats.commits).toBeLessThanOrEqual(2);
  });

  it('drops a torn last journal line and keeps everything before it', async () => {
    const a = await openStore();
    a.appendEvents([event('evt_1')]);
    await a.commit();
    abandon(a);
    const journal = (await readdir(dir)).find((n) => n.startsWith('journal.'))!;
    await appendFile(join(dir, journal), '{"seq":2,"ops":[{"t":"evt","id":"evt_2","v":{"payl');
    const b = new Store(dir);
    await b.load();
    open.push(b);
    expect(b.stats.tornTailDropped).toBe(true);
    expect(b.data.events.map((e) => e.payload.id)).toEqual(['evt_1']);
    b.appendEvents([event('evt_3')]);
    await b.commit();
    await b.close();
    open.splice(0);
    const c = await openStore();
    expect(c.data.events.map((e) => e.payload.id)).toEqual(['evt_1', 'evt_3']);
  });

  it('checkpoints into part files, keeps the previous manifest as backup, and reloads the same state', async () => {
    const a = await openStore();
    a.appendEvents([event('evt_1', '2026-11-22T23:59:59.000Z'), event('evt_2', '2026-11-23T00:00:01.000Z')]);
    a.putSnapshot('cliniko:patients', '9', { version: 'v', record: { id: '9' } });
    await a.commit();
    await a.checkpoint();
    a.appendEvents([event('evt_3', '2026-11-23T05:00:00.000Z')]);
    await a.commit();
    await a.checkpoint();
    const files = await readdir(dir);
    expect(files).toContain('manifest.json');
    expect(files).toContain('manifest.json.bak');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.parts).sort()).toEqual(['evt.2026-11-22T23', 'evt.2026-11-23T00', 'evt.2026-11-23T05', 'snap.cliniko.patients']);
    // Only the changed hour was written by the second checkpoint.
    expect(manifest.parts['evt.2026-11-22T23']).toMatch(/\.g1\.json$/);
    expect(manifest.parts['evt.2026-11-23T00']).toMatch(/\.g1\.json$/);
    expect(manifest.parts['evt.2026-11-23T05']).toMatch(/\.g2\.json$/);
    await a.close();
    open.splice(0);
    const b = await openStore();
    expect(b.data.events.map((e) => e.payload.id)).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(b.data.snapshots['cliniko:patients']!['9']!.record).toEqual({ id: '9' });
  });

  it('refuses to start on a corrupt or empty manifest, names the file and the backup, and changes nothing', async () => {
    const a = await openStore();
    a.appendEvents([event('evt_1')]);
    await a.commit();
    await a.checkpoint();
    await a.close();
    open.splice(0);
    for (const bad of ['', '{"version": 2, "gen": 1, "par']) {
      await writeFile(join(dir, 'manifest.json'), bad);
      const before = (await readdir(dir)).sort();
      const s = new Store(dir);
      const err = await s.load().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(StoreCorruptError);
      expect((err as Error).message).toContain(join(dir, 'manifest.json'));
      expect((err as Error).message).toContain('manifest.json.bak');
      expect((await readdir(dir)).sort()).toEqual(before);
      expect(await readFile(join(dir, 'manifest.json'), 'utf8')).toBe(bad);
    }
  });

  it('refuses a second process on the same data directory', async () => {
    const holder = await holdLock(dir);
    try {
      const other = new Store(dir);
      await expect(other.load()).rejects.toBeInstanceOf(StoreLockedError);
    } finally {
      await kill(holder);
    }
  });
});

describe('retention', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('drops old delivered events and their deliveries, keeps failed, pending and recent ones', async () => {
    const { compact } = await import('../src/store/retention.js');
    dir = await mkdtemp(join(tmpdir(), 'bridge-retention-'));
    const s = new Store(dir);
    await s.load();
    const now = Date.parse('2026-11-23T12:00:00Z');
    const old = '2026-10-01T00:00:00.000Z';
    const ev = (id: string, ts: string) => ({ ...event(id, ts), dispatched: true });
    s.appendEvents([ev('evt_01', old), ev('evt_02', old), ev('evt_03', old), ev('evt_04', old), ev('evt_05', '2026-11-20T00:00:00.000Z')]);
    const dlv = (id: string, eventId: string, status: 'pending' | 'succeeded' | 'failed') =>
      s.putDelivery({ id, event_id: eventId, subscription_id: 'sub_1', status, trigger: 'dispatch', attempt_count: 1, next_attempt_at: null, final_attempt: false, created_at: old, updated_at: old, attempts: [] });
    dlv('dlv_1', 'evt_01', 'succeeded');
    dlv('dlv_2', 'evt_02', 'failed');
    dlv('dlv_3', 'evt_03', 'pending');
    dlv('dlv_5', 'evt_05', 'succeeded');
    // evt_04 had no subscriber at all.
    expect(compact(s, 30, now)).toEqual({ events: 2, deliveries: 1, audit: 0 });
    expect(s.data.events.map((e) => e.payload.id)).toEqual(['evt_02', 'evt_03', 'evt_05']);
    expect(Object.keys(s.data.deliveries).sort()).toEqual(['dlv_2', 'dlv_3', 'dlv_5']);
    await s.commit();
    await s.close();
    const again = new Store(dir);
    await again.load();
    expect(again.data.events.map((e) => e.payload.id)).toEqual(['evt_02', 'evt_03', 'evt_05']);
    await again.close();
  });
});

describe('npm run store', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('check reports a damaged manifest; restore puts the backup back and nothing committed is lost', async () => {
    const { execFile } = await import('node:child_process');
    const run = (cmd: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'src/store/cli.ts', cmd], { env: { ...process.env, BRIDGE_DATA_DIR: dir } }, (err, stdout) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout }),
        );
      });
    dir = await mkdtemp(join(tmpdir(), 'bridge-cli-'));
    const s = new Store(dir);
    await s.load();
    s.appendEvents([event('evt_1')]);
    await s.commit();
    await s.checkpoint();
    s.appendEvents([event('evt_2')]);
    await s.commit();
    await s.checkpoint();
    s.appendEvents([event('evt_3')]);
    await s.commit();
    await s.close();

    expect(await run('check')).toMatchObject({ code: 0, out: expect.stringContaining('events         3') });
    await writeFile(join(dir, 'manifest.json'), '{"version":2,');
    const broken = await run('check');
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('manifest.json');
    const restored = await run('restore');
    expect(restored.code).toBe(0);
    expect(restored.out).toContain('events         3');
    const after = new Store(dir);
    await after.load();
    expect(after.data.events.map((e) => e.payload.id)).toEqual(['evt_1', 'evt_2', 'evt_3']);
    await after.close();
  }, 30_000);
});

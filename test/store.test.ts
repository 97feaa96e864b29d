import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreCorruptError } from '../src/store/durable-file.js';
import { Journal } from '../src/store/journal.js';
import { LowdbStore, type StoreOptions } from '../src/store/lowdb-store.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { event } from './helpers/store-contract.js';

const subA = (description: string) => withSubscriptionDefaults({ id: 'sub_a', url: 'https://x.example/h', secret: 'whsec_x', description });
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

const eventIds = async (s: LowdbStore) => (await s.listEvents({})).data.map((e) => e.payload.id).reverse();

describe('lowdb store', () => {
  let dir: string;
  const open: LowdbStore[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-store-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const openStore = async (options: StoreOptions = {}) => {
    const s = new LowdbStore(dir, options);
    await s.load();
    open.push(s);
    return s;
  };
  /** Simulates a crash: the process dies without close() — no checkpoint. */
  const abandon = async (s: LowdbStore) => {
    open.splice(open.indexOf(s), 1);
    await s.abandon();
  };

  it('recovers committed transactions from the journal after a crash', async () => {
    const a = await openStore();
    await a.transaction((tx) => tx.appendEvents([event('evt_1')]));
    await abandon(a);
    const b = await openStore();
    expect(await eventIds(b)).toEqual(['evt_1']);
  });

  it('keeps an event undispatched after a restart when the line that marked it dispatched failed', async () => {
    const a = await openStore();
    await a.transaction((tx) => tx.appendEvents([event('evt_1')]));
    // One failed write of the journal (a full disk, as test/disk-full.e2e.test.ts makes for real).
    const append = vi.spyOn(Journal.prototype, 'append').mockRejectedValueOnce(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
    await expect(a.transaction((tx) => tx.markDispatched(['evt_1']))).rejects.toThrow('ENOSPC');
    append.mockRestore();
    expect((await a.listEvents({ undispatched: true })).data.map((e) => e.payload.id)).toEqual(['evt_1']);
    // The next line (any write) must not journal the dispatch that was undone.
    await a.transaction((tx) => tx.appendEvents([event('evt_2')]));
    await abandon(a);
    const b = await openStore();
    expect((await b.listEvents({ undispatched: true })).data.map((e) => e.payload.id).sort()).toEqual(['evt_1', 'evt_2']);
  });

  it('groups concurrent transactions into shared journal lines', async () => {
    const s = await openStore();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.transaction((tx) => tx.appendEvents([event(`evt_${String(i).padStart(3, '0')}`)]))),
    );
    expect(s.stats.commits).toBeLessThanOrEqual(2);
  });

  it('drops a torn last journal line and keeps everything before it', async () => {
    const a = await openStore();
    await a.transaction((tx) => tx.appendEvents([event('evt_1')]));
    await abandon(a);
    const journal = (await readdir(dir)).find((n) => n.startsWith('journal.'))!;
    await appendFile(join(dir, journal), '{"seq":2,"ops":[{"t":"evt","id":"evt_2","v":{"payl');
    const b = await openStore();
    expect(b.stats.tornTailDropped).toBe(true);
    expect(await eventIds(b)).toEqual(['evt_1']);
    await b.transaction((tx) => tx.appendEvents([event('evt_3')]));
    await b.close();
    open.splice(0);
    const c = await openStore();
    expect(await eventIds(c)).toEqual(['evt_1', 'evt_3']);
  });

  it('undoing a failed transaction keeps a later transaction’s write to the same entity', async () => {
    const a = await openStore();
    // A transaction that throws after a later one wrote the same subscription durably.
    const first = gate();
    const failing = a.transaction(async (tx) => {
      tx.putSubscription(subA('one'));
      await first.opened;
      throw new Error('given up');
    });
    await a.transaction((tx) => tx.putSubscription(subA('two')));
    first.open();
    await expect(failing).rejects.toThrow('given up');
    expect((await a.getSubscription('sub_a'))?.description).toBe('two');

    // Two unfinished writes undone one after the other: back to the value before both.
    const one = gate();
    const two = gate();
    const t1 = a.transaction(async (tx) => {
      tx.putSubscription(subA('three'));
      await one.opened;
      throw new Error('one');
    });
    const t2 = a.transaction(async (tx) => {
      tx.putSubscription(subA('four'));
      await two.opened;
      throw new Error('two');
    });
    one.open();
    await expect(t1).rejects.toThrow('one');
    expect((await a.getSubscription('sub_a'))?.description).toBe('four');
    two.open();
    await expect(t2).rejects.toThrow('two');
    expect((await a.getSubscription('sub_a'))?.description).toBe('two');

    // A journal line that fails (its file cannot be opened) while a later transaction has written the
    // same entity: that later write stands and becomes durable with its own line.
    await a.close();
    open.splice(0);
    const b = await openStore();
    // The journal this start appends to: that of the last checkpoint's generation.
    const journal = join(dir, `journal.${JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).gen}.ndjson`);
    await rm(journal, { force: true });
    await mkdir(journal);
    const later = gate();
    const lost = b.transaction((tx) => tx.putSubscription(subA('five')));
    const kept = b.transaction(async (tx) => {
      tx.putSubscription(subA('six'));
      await later.opened;
    });
    await expect(lost).rejects.toThrow();
    expect((await b.getSubscription('sub_a'))?.description).toBe('six');
    await rm(journal, { recursive: true });
    later.open();
    await kept;
    await abandon(b);
    const c = await openStore();
    expect((await c.getSubscription('sub_a'))?.description).toBe('six');
  });

  it('checkpoints into part files, keeps the previous manifest as backup, and reloads the same state', async () => {
    const a = await openStore();
    await a.transaction((tx) => {
      tx.appendEvents([event('evt_1', '2026-11-22T23:59:59.000Z'), event('evt_2', '2026-11-23T00:00:01.000Z')]);
      tx.putSnapshot('cliniko:patients', '9', { version: 'v', record: { id: '9' } });
    });
    await a.checkpoint();
    await a.transaction((tx) => tx.appendEvents([event('evt_3', '2026-11-23T05:00:00.000Z')]));
    await a.checkpoint();
    const files = await readdir(dir);
    expect(files).toContain('manifest.json');
    expect(files).toContain('manifest.json.bak');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(4);
    expect(Object.keys(manifest.snapshots)).toEqual(['cliniko:patients']);
    // Only what changed was written by the second checkpoint: the event bucket and its index, not the snapshots.
    expect(manifest.snapshots['cliniko:patients'][0].file).toMatch(/\.g1\.json$/);
    expect(manifest.events.map((b: { file: string }) => b.file)).toEqual([expect.stringMatching(/^evt\..*\.g2\.json$/)]);
    expect(manifest.eventIndex.map((b: { file: string }) => b.file)).toEqual([expect.stringMatching(/^evi\..*\.g2\.json$/)]);
    await a.close();
    open.splice(0);
    const b = await openStore();
    // A start reads the event index, not the event bodies.
    expect(b.memory().bucketsRead).toMatchObject({ evt: 0, evi: 1 });
    expect(await eventIds(b)).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect((await b.getSnapshots('cliniko:patients', ['9'])).get('9')?.record).toEqual({ id: '9' });
  });

  it('refuses to start on a corrupt or empty manifest, names the file and the backup, and changes nothing', async () => {
    const a = await openStore();
    await a.transaction((tx) => tx.appendEvents([event('evt_1')]));
    await a.checkpoint();
    await a.close();
    open.splice(0);
    for (const bad of ['', '{"version": 2, "gen": 1, "par']) {
      await writeFile(join(dir, 'manifest.json'), bad);
      const before = (await readdir(dir)).sort();
      const s = new LowdbStore(dir);
      const err = await s.load().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreCorruptError);
      expect((err as Error).message).toContain(join(dir, 'manifest.json'));
      expect((err as Error).message).toContain('manifest.json.bak');
      expect((await readdir(dir)).sort().filter((n) => n !== 'bridge.lock')).toEqual(before.filter((n) => n !== 'bridge.lock'));
      expect(await readFile(join(dir, 'manifest.json'), 'utf8')).toBe(bad);
    }
  });
});

describe('npm run store', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('check reports a damaged manifest; restore puts the backup back and nothing committed is lost', async () => {
    const { execFile } = await import('node:child_process');
    const run = (cmd: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/store/cli.ts', cmd],
          { env: { ...process.env, BRIDGE_DATA_DIR: dir } },
          (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout }),
        );
      });
    dir = await mkdtemp(join(tmpdir(), 'bridge-cli-'));
    const s = new LowdbStore(dir);
    await s.load();
    await s.transaction((tx) => tx.appendEvents([event('evt_1')]));
    await s.checkpoint();
    await s.transaction((tx) => tx.appendEvents([event('evt_2')]));
    await s.checkpoint();
    await s.transaction((tx) => tx.appendEvents([event('evt_3')]));
    await s.close();

    expect(await run('check')).toMatchObject({ code: 0, out: expect.stringContaining('events         3') });
    await writeFile(join(dir, 'manifest.json'), '{"version":2,');
    const broken = await run('check');
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('manifest.json');
    const restored = await run('restore');
    expect(restored.code).toBe(0);
    expect(restored.out).toContain('events         3');
    const after = new LowdbStore(dir);
    await after.load();
    expect(await eventIds(after)).toEqual(['evt_1', 'evt_2', 'evt_3']);
    await after.close();
  }, 30_000);
});

import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, plainStrictCodec, StoreKeyError } from '../src/store/encryption.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { postgresOrSkip, sql } from './helpers/postgres.js';
import { delivery, event } from './helpers/store-contract.js';

// What the PostgreSQL store adds to the contract: migrations, encryption of its columns, health.
const pg = await postgresOrSkip('test/postgres-store.test.ts');
afterAll(async () => {
  await pg?.stop();
});

const PATIENT = 'Wilhelmina Oyelaran-Fitzgerald';
const SECRET = 'whsec_' + randomBytes(24).toString('base64');

describe.skipIf(!pg)('PostgreSQL store', () => {
  const open: PostgresStore[] = [];
  const track = (s: PostgresStore) => (open.push(s), s);
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
  });

  it('applies its migrations once, records them, and refuses a schema from a newer version', async () => {
    const schema = pg!.freshSchema();
    await Promise.all([PostgresStore.open({ url: pg!.url, schema }), PostgresStore.open({ url: pg!.url, schema })]).then((s) =>
      s.map(track),
    );
    const rows = await sql<{ name: string }>(pg!.url, `SELECT name FROM "${schema}".schema_migrations ORDER BY name`);
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['0001_initial.sql']));
    const count = rows.length;
    track(await PostgresStore.open({ url: pg!.url, schema }));
    expect((await sql(pg!.url, `SELECT name FROM "${schema}".schema_migrations`)).length).toBe(count);

    await sql(pg!.url, `INSERT INTO "${schema}".schema_migrations (name) VALUES ('9999_future.sql')`);
    await expect(PostgresStore.open({ url: pg!.url, schema })).rejects.toThrow(/9999_future\.sql.*newer bridge version/);
  });

  it('refuses a schema name that would need quoting', async () => {
    await expect(PostgresStore.open({ url: pg!.url, schema: 'Bridge"; DROP' })).rejects.toThrow(/BRIDGE_DATABASE_SCHEMA/);
  });

  it('encrypts record values, payloads, URLs and secrets: a dump of its tables shows none of them', async () => {
    const schema = pg!.freshSchema();
    const key = randomBytes(32);
    const store = track(await PostgresStore.open({ url: pg!.url, schema, codec: aesGcmCodec(key) }));
    await store.transaction((tx) => {
      tx.putSubscription(withSubscriptionDefaults({ id: 'sub_1', url: 'https://receiver.example/hook-token-xyz', secret: SECRET }));
      tx.putSnapshot('cliniko:patients', '7', { version: 'v1', record: { id: '7', first_name: PATIENT } });
      tx.appendEvents([event('evt_1', undefined, { object: { id: '7', first_name: PATIENT } })]);
      tx.putDelivery(
        delivery('dlv_1', 'evt_1', 'sub_1', {
          attempts: [
            {
              id: 'att_1',
              attempted_at: 'x',
              duration_ms: 1,
              status_code: 500,
              error: 'http_status',
              response_excerpt: `no ${PATIENT}`,
              response_headers: {},
              trigger: 'schedule',
            },
          ],
        }),
      );
      tx.putResource('cliniko:patients', {
        cursor: { updated_at: '2026-11-23T06:00:00Z' },
        last_poll_at: null,
        last_success_at: null,
        last_error: null,
      });
    });
    const dump = JSON.stringify(
      await Promise.all(
        ['subscriptions', 'snapshots', 'events', 'deliveries', 'resources', 'meta'].map((t) =>
          sql(pg!.url, `SELECT * FROM "${schema}".${t}`),
        ),
      ),
    );
    for (const secret of [PATIENT, SECRET.slice(6), 'hook-token-xyz', 'first_name']) expect(dump).not.toContain(secret);
    expect(dump).toContain('enc1:');
    // It still reads back whole.
    expect((await store.getEvent('evt_1'))?.payload.data.object).toEqual({ id: '7', first_name: PATIENT });
    expect((await store.getSubscription('sub_1'))?.secret).toBe(SECRET);
  });

  it('refuses to open with the wrong key, or without one, naming the variable', async () => {
    const schema = pg!.freshSchema();
    await (await PostgresStore.open({ url: pg!.url, schema, codec: aesGcmCodec(randomBytes(32)) })).close();
    await expect(PostgresStore.open({ url: pg!.url, schema, codec: aesGcmCodec(randomBytes(32)) })).rejects.toThrow(StoreKeyError);
    await expect(PostgresStore.open({ url: pg!.url, schema, codec: plainStrictCodec })).rejects.toThrow(/BRIDGE_ENCRYPTION_KEY/);
  });

  it('reports a database it cannot reach in health(), and recovers by itself', async () => {
    const store = track(await PostgresStore.open({ url: pg!.url, schema: pg!.freshSchema(), probeIntervalMs: 60_000 }));
    expect(store.health().writable).toBe(true);
    expect(store.location).not.toContain('@127.0.0.1:0');
    await pg!.stopServer();
    try {
      // While the server is down, a write fails and says so, and the probe keeps saying so.
      await expect(store.transaction((tx) => tx.appendEvents([event('evt_lost')]))).rejects.toThrow();
      expect(store.health()).toMatchObject({ writable: false, reason: expect.stringMatching(/^database unreachable/) });
      expect(await store.probeNow()).toBe(false);
    } finally {
      await pg!.startAgain();
    }
    // Connections the stop closed are replaced; the next write works and clears the failure.
    await store.transaction((tx) => tx.appendEvents([event('evt_after')]));
    expect(store.health()).toMatchObject({ writable: true, reason: null });
    expect((await store.listEvents({})).data.map((e) => e.payload.id)).toEqual(['evt_after']);
  });
});

import { readdir } from 'node:fs/promises';
import pgDriver from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';
import { postgresOrSkip, sql } from './helpers/postgres.js';

// The bridge with BRIDGE_DATABASE_URL: the same pipeline as test/pipeline.e2e.test.ts, its state in PostgreSQL.
const pg = await postgresOrSkip('test/postgres-pipeline.e2e.test.ts');
afterAll(async () => {
  await pg?.stop();
});

const SEED = { patients: 4, contacts: 3 };

describe.skipIf(!pg)('the bridge on PostgreSQL', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('delivers verified events, keeps its state in the database across a restart, and writes nothing to BRIDGE_DATA_DIR', async () => {
    const schema = pg!.freshSchema();
    h = await Harness.create({
      seed: SEED,
      env: { BRIDGE_RESOURCES: 'patients,contacts', BRIDGE_DATABASE_URL: pg!.url, BRIDGE_DATABASE_SCHEMA: schema },
    });
    expect(h.bridge.store.location).toContain(`schema ${schema}`);
    const subId = await h.subscribe(['*']);
    await h.poll();
    expect((await h.api('GET', '/v1/events')).json.data).toEqual([]);

    const patient = h.sim.create('patients', { first_name: 'Ada', last_name: 'Lovelace' });
    const contactId = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', contactId, { first_name: 'Jon' });
    // The receiver fails the first attempt of each: the retry comes from the database too.
    h.receiver.respondWith.push(500, 500);
    await h.poll();
    await waitFor(
      async () => (await h.bridge.store.listDeliveries({ status: 'succeeded' })).data.length === 2,
      15_000,
      'two deliveries succeeded',
    );
    expect(h.receiver.received).toHaveLength(4);
    expect(h.receiver.received.every((r) => r.verified)).toBe(true);
    expect(new Set(h.receiver.types())).toEqual(new Set(['patient.created', 'contact.updated']));
    const created = h.receiver.ofType('patient.created');
    // A retry carries the same webhook-id and body as the attempt before it.
    expect(new Set(created.map((r) => r.id)).size).toBe(1);
    expect(new Set(created.map((r) => r.body)).size).toBe(1);
    expect(created[0]!.payload.data.object.first_name).toBe('Ada');

    // The admin API reads from PostgreSQL: events, deliveries with their attempts.
    const events = (await h.api('GET', '/v1/events')).json.data as Array<{ id: string; type: string }>;
    expect(events.map((e) => e.type).sort()).toEqual(['contact.updated', 'patient.created']);
    const rows = await sql<{ n: string }>(pg!.url, `SELECT count(*) AS n FROM "${schema}".deliveries WHERE status = 'succeeded'`);
    expect(Number(rows[0]!.n)).toBe(2);

    // A restart resumes from the database: the cursor holds, nothing is sent again.
    await h.bridge.stop();
    await h.startBridge();
    const before = h.receiver.received.length;
    await h.poll();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.receiver.received).toHaveLength(before);
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).status).toBe(200);

    h.sim.update('patients', patient.id, { first_name: 'Augusta' });
    await h.poll();
    await waitFor(() => h.receiver.ofType('patient.updated').length === 1, 10_000, 'the update after the restart');
    expect(h.receiver.ofType('patient.updated')[0]!.payload.data.previous_attributes).toMatchObject({ first_name: 'Ada' });

    expect(await readdir(h.dataDir)).toEqual([]);
  });

  it('survives `pg_ctl restart` in the middle of a poll’s write: not ready, nothing half-written, resumes by itself', async () => {
    const schema = pg!.freshSchema();
    h = await Harness.create({
      seed: SEED,
      env: { BRIDGE_RESOURCES: 'patients,contacts', BRIDGE_DATABASE_URL: pg!.url, BRIDGE_DATABASE_SCHEMA: schema },
    });
    await h.subscribe(['*']);
    await h.poll();
    expect((await h.api('GET', '/readyz', undefined, null)).status).toBe(200);

    // Another session holds the snapshots table, so the poll's transaction stops in the middle of
    // its write; the restart then ends that transaction by closing every session.
    const blocker = new pgDriver.Client({ connectionString: pg!.url });
    await blocker.connect();
    blocker.on('error', () => undefined);
    await blocker.query(`BEGIN; LOCK TABLE "${schema}".snapshots IN EXCLUSIVE MODE`);
    h.sim.create('patients', { first_name: 'During', last_name: 'Restart' });
    const polling = h.poll();
    await waitFor(
      async () =>
        (await sql(pg!.url, `SELECT 1 FROM pg_stat_activity WHERE application_name = 'clinic-event-bridge' AND wait_event_type = 'Lock'`))
          .length > 0,
      10_000,
      'the poll waiting in the middle of its write',
    );
    await pg!.restart();
    await polling;
    await blocker.end().catch(() => undefined);
    const ready = await h.api('GET', '/readyz', undefined, null);
    expect(ready.status).toBe(503);
    expect(ready.json.store).toMatchObject({ writable: false, reason: expect.stringMatching(/^database unreachable/) });
    // Nothing of the failed poll was written: no event without its snapshot and cursor.
    const [row] = await sql<{ n: string }>(pg!.url, `SELECT count(*) AS n FROM "${schema}".events WHERE type = 'patient.created'`);
    expect(Number(row!.n)).toBe(0);

    // The next poll reads the change again from the old cursor and delivers it once.
    await h.poll();
    await waitFor(() => h.receiver.ofType('patient.created').length === 1, 10_000, 'the change made during the restart');
    expect(h.receiver.ofType('patient.created')[0]!.payload.data.object.first_name).toBe('During');
    await waitFor(async () => (await h.api('GET', '/readyz', undefined, null)).status === 200, 10_000, 'ready again');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Receiver } from '../tools/demo/receiver.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { ADMIN_TOKEN, simulatorBridgeEnv, waitFor } from './helpers/harness.js';
import { postgresOrSkip, sql } from './helpers/postgres.js';
import { kill, startProcess } from './helpers/process.js';

// Three bridge processes on one PostgreSQL database, two of them SIGKILLed while working.
const pg = await postgresOrSkip('test/postgres-processes.e2e.test.ts');
afterAll(async () => {
  await pg?.stop();
});

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

describe.skipIf(!pg)('three bridge processes on one database', () => {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn();
    cleanup.length = 0;
  });

  it('loses no change when the holder of a resource dies mid-poll and another dies mid-delivery; duplicates are identical', async () => {
    const schema = pg!.freshSchema();
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.seed({ contacts: 30, patients: 10 });
    const { baseUrl } = await sim.listen();
    const receiver = await new Receiver().start();
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-pg-procs-'));
    cleanup.push(
      () => sim.close(),
      () => receiver.close(),
      () => rm(dataDir, { recursive: true, force: true }),
    );
    const env = (id: string) => ({
      ...simulatorBridgeEnv(baseUrl, join(dataDir, id)),
      BRIDGE_DATABASE_URL: pg!.url,
      BRIDGE_DATABASE_SCHEMA: schema,
      BRIDGE_INSTANCE_ID: id,
      BRIDGE_RESOURCES: 'contacts,patients',
      CLINIKO_PER_PAGE: '5',
      BRIDGE_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms',
      // A dead process's delivery claims expire after the timeout plus 30 s: keep that short here.
      BRIDGE_DELIVERY_TIMEOUT: '5s',
      // startProcess waits for the 'bridge started' line (info).
      LOG_LEVEL: 'info',
    });
    const procs = new Map<string, Awaited<ReturnType<typeof startProcess>>>();
    const start = async (id: string) => {
      const p = await startProcess(env(id));
      procs.set(id, p);
      cleanup.push(() => kill(p.child));
      return p;
    };
    // The first process creates the schema; the others join it.
    const p1 = await start('p1');
    receiver.secret = (
      await api(p1.url, 'POST', '/v1/subscriptions', { url: receiver.url, event_types: ['contact.updated', 'patient.updated'] })
    ).secret;
    await Promise.all([start('p2'), start('p3')]);
    await waitFor(
      async () => (await api(p1.url, 'GET', '/v1/sources')).data.every((r: any) => r.cursor?.baseline_done),
      30_000,
      'baselines',
    );
    // Every process serves the admin API from the same database.
    for (const p of procs.values()) expect((await api(p.url, 'GET', '/v1/subscriptions')).data).toHaveLength(1);

    // Slow pages keep a poll in flight; then the process holding the contacts lease is killed mid-poll.
    sim.injectFault({ delayMs: 150, times: 1_000_000 });
    const changes: Array<{ id: string; notes: string }> = [];
    for (const c of sim.all('contacts').filter((c) => !c.archived_at && !c.deleted_at)) {
      sim.update('contacts', c.id, { notes: `change ${c.id}` });
      changes.push({ id: c.id, notes: `change ${c.id}` });
    }
    const served = sim.served.length;
    await waitFor(
      () => sim.served.filter((s) => s.resource === 'contacts').length > 0 && sim.served.length >= served + 3,
      20_000,
      'a contacts poll under way',
    );
    const [holder] = await sql<{ holder: string }>(pg!.url, `SELECT holder FROM "${schema}".leases WHERE name = 'cliniko:contacts'`);
    expect(procs.has(holder!.holder)).toBe(true);
    await kill(procs.get(holder!.holder)!.child);
    procs.delete(holder!.holder);

    // A slow receiver keeps attempts in flight; then a process holding a claim is killed mid-attempt.
    receiver.respond = () => ({ status: 204, delayMs: 300 });
    for (const p of sim.all('patients').filter((p) => !p.archived_at && !p.deleted_at)) {
      sim.update('patients', p.id, { notes: `change ${p.id}` });
      changes.push({ id: p.id, notes: `change ${p.id}` });
    }
    const claimed = await waitFor(
      async () =>
        (
          await sql<{ claimed_by: string }>(
            pg!.url,
            `SELECT claimed_by FROM "${schema}".deliveries WHERE claimed_until > now() AND status = 'pending'`,
          )
        ).find((r) => procs.has(r.claimed_by)),
      30_000,
      'an attempt in flight',
    );
    await kill(procs.get(claimed.claimed_by)!.child);
    procs.delete(claimed.claimed_by);
    sim.clearFaults();

    // The survivor takes both resources over (leases expire within 20 s) and finishes every change.
    const delivered = (c: { id: string; notes: string }) =>
      receiver.received.some((r) => r.verified && r.payload.data.id === c.id && r.payload.data.object.notes === c.notes);
    await waitFor(() => changes.every(delivered), 60_000, 'every change delivered by the survivor');
    // Deliveries may finish before the survivor's schedule reaches a resource the dead held: it
    // takes that lease over once it expires and the resource is next due.
    const [survivor] = [...procs.keys()];
    await waitFor(
      async () =>
        (await sql<{ holder: string }>(pg!.url, `SELECT holder FROM "${schema}".leases ORDER BY name`)).every((l) => l.holder === survivor),
      60_000,
      'the survivor holding both leases',
    );
    const leases = await sql<{ name: string; holder: string }>(pg!.url, `SELECT name, holder FROM "${schema}".leases ORDER BY name`);
    expect(leases.map((l) => l.holder)).toEqual([survivor, survivor]);

    const variants = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const key = `${r.payload.type}:${r.payload.data.id}:${String(r.payload.data.object.notes)}`;
      variants.set(key, (variants.get(key) ?? new Set()).add(`${r.id}|${r.body}`));
    }
    for (const [key, set] of variants) expect(set.size, key).toBe(1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  }, 240_000);

  it('keeps a Cliniko key within one request budget while three processes hold its resources between them', async () => {
    const schema = pg!.freshSchema();
    // The simulator enforces nothing here: the test counts what it was sent.
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.seed({ contacts: 12, patients: 12 });
    const { baseUrl } = await sim.listen();
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-pg-budget-'));
    cleanup.push(
      () => sim.close(),
      () => rm(dataDir, { recursive: true, force: true }),
    );
    // 20 a minute less 10 % headroom: 18 requests in any 60 s for all three processes together,
    // while each process's own scheduler would spend 18 by itself.
    const budget = 18;
    // Each process configured for two of the six resources, so the leases are spread over all three
    // whatever order they start in (with all six each, the first one up could take every lease).
    const env = (id: string, resources: string) => ({
      ...simulatorBridgeEnv(baseUrl, join(dataDir, id)),
      BRIDGE_DATABASE_URL: pg!.url,
      BRIDGE_DATABASE_SCHEMA: schema,
      BRIDGE_INSTANCE_ID: id,
      BRIDGE_RESOURCES: resources,
      CLINIKO_PER_PAGE: '5',
      CLINIKO_RATE_LIMIT_PER_MIN: '20',
      LOG_LEVEL: 'info',
    });
    const procs = await Promise.all(
      [
        ['b1', 'contacts,patients'],
        ['b2', 'attendees,individual_appointments'],
        ['b3', 'bookings,invoices'],
      ].map(([id, resources]) => startProcess(env(id!, resources!))),
    );
    for (const p of procs) cleanup.push(() => kill(p.child));
    await waitFor(() => sim.served.length >= budget, 45_000, 'the budget spent');
    // Demand goes on (baselines unfinished, three schedulers): nothing more may be sent in this minute.
    await new Promise((r) => setTimeout(r, 5_000));
    const holders = await sql<{ holder: string }>(pg!.url, `SELECT DISTINCT holder FROM "${schema}".leases`);
    expect(holders.length).toBe(3);
    const times = sim.served.map((s) => s.at).sort((x, y) => x - y);
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 60_000).length;
      expect(inWindow, `requests in the 60 s from request ${i}`).toBeLessThanOrEqual(budget);
    }
    expect(times).toHaveLength(budget);
  }, 120_000);
});

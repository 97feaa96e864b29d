import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

/** A clock the simulator writes timestamps with: frozen, so many changes share one second. */
function clock(start = Date.parse('2026-11-23T06:50:00Z')) {
  let now = start;
  return { now: () => now, tick: (ms = 1000) => (now += ms) };
}

describe('change detection', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('misses nothing when many records share one updated_at second across pages and polls', async () => {
    const c = clock();
    h = await Harness.create({ sim: { now: c.now }, env: { BRIDGE_RESOURCES: 'contacts', CLINIKO_PER_PAGE: '10' } });
    await h.subscribe(['contact.created', 'contact.updated']);
    for (let i = 0; i < 3; i++) h.sim.create('contacts', { first_name: `Baseline${i}` });
    await h.poll();
    c.tick();
    // 35 records in one second: more than three pages of 10.
    const ids = Array.from({ length: 35 }, (_, i) => h.sim.create('contacts', { first_name: `Burst${i}` }).id);
    await h.poll();
    // Ten more in the same second, after the poll already saw that second.
    const late = Array.from({ length: 10 }, (_, i) => h.sim.create('contacts', { first_name: `Late${i}` }).id);
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 45, 10_000, '45 created events');
    await h.poll();
    await h.settled();
    const createdIds = h.receiver.ofType('contact.created').map((r) => r.payload.data.id);
    expect(new Set(createdIds).size).toBe(45);
    expect(createdIds).toHaveLength(45);
    expect(new Set(createdIds)).toEqual(new Set([...ids, ...late]));
  });

  it('reports a record that changes twice within one second twice, and an unchanged re-read never', async () => {
    const c = clock();
    h = await Harness.create({ sim: { now: c.now }, seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe();
    await h.poll();
    c.tick();
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', id, { first_name: 'First' });
    await h.poll();
    h.sim.update('contacts', id, { first_name: 'Second' });
    await h.poll();
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 2);
    await h.settled();
    expect(h.receiver.received.map((r) => r.payload.data.object.first_name)).toEqual(['First', 'Second']);
    expect(h.receiver.received[1]!.payload.data.previous_attributes).toEqual({ first_name: 'First' });
  });

  it('misses nothing when records change while the poller is paging (offsets shift)', async () => {
    const c = clock();
    h = await Harness.create({ sim: { now: c.now }, env: { BRIDGE_RESOURCES: 'contacts', CLINIKO_PER_PAGE: '5' } });
    await h.subscribe(['contact.updated']);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(h.sim.create('contacts', { first_name: `C${i}` }).id);
      c.tick();
    }
    await h.poll();
    // Change all 20, one second apart, then, while the bridge reads the first page, change
    // records from that page again: under page-number paging they would shift the rest.
    for (const id of ids) {
      h.sim.update('contacts', id, { notes: 'round 1' });
      c.tick();
    }
    let fired = false;
    h.sim.afterResponse = (info) => {
      if (fired || !info.path.endsWith('/contacts') || info.method !== 'GET') return;
      fired = true;
      for (const id of ids.slice(0, 3)) h.sim.update('contacts', id, { notes: 'round 2' });
    };
    await h.poll();
    expect(fired).toBe(true);
    h.sim.afterResponse = undefined;
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 23, 10_000, '23 updates');
    await h.settled();
    const seen = h.receiver.received.map((r) => `${r.payload.data.id}:${r.payload.data.object.notes}`);
    for (const id of ids) expect(seen).toContain(`${id}:round 1`);
    for (const id of ids.slice(0, 3)) expect(seen).toContain(`${id}:round 2`);
    expect(seen).toHaveLength(23);
  });

  it.each([
    ['a 500', { status: 500 }],
    ['a 429 with X-RateLimit-Reset', { status: 429, retryAfterSeconds: 1 }],
    ['a malformed body', { malformed: true }],
    ['a response slower than CLINIKO_REQUEST_TIMEOUT', { delayMs: 1500 }],
  ])('never advances the cursor past %s, and catches up afterwards', async (_name, fault) => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts', CLINIKO_REQUEST_TIMEOUT: '500ms' } });
    await h.subscribe();
    await h.poll();
    const before = (await h.api('GET', '/v1/sources')).json.data[0];
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', id, { notes: 'changed during an outage' });
    h.sim.injectFault({ ...fault, times: 1 });
    await h.poll();
    const during = (await h.api('GET', '/v1/sources')).json.data[0];
    expect(during.cursor).toEqual(before.cursor);
    expect(during.last_error.message).toMatch(/contacts/);
    expect(h.receiver.received).toHaveLength(0);

    await h.poll();
    await waitFor(() => h.receiver.received.length === 1, 10_000, 'the change after recovery');
    const after = (await h.api('GET', '/v1/sources')).json.data[0];
    expect(after.last_error).toBeNull();
    expect(h.receiver.received[0]!.payload.data.object.notes).toBe('changed during an outage');
  });

  it('waits for X-RateLimit-Reset before the next request after a 429', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.poll();
    h.sim.injectFault({ status: 429, retryAfterSeconds: 1, times: 1 });
    await h.poll();
    const before = h.sim.served.length;
    const started = Date.now();
    await h.poll();
    expect(h.sim.served.length).toBeGreaterThan(before);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('reports a record deleted while a first pass longer than the overlap was still reading', async () => {
    const c = clock(Date.now());
    h = await Harness.create({
      sim: { now: c.now },
      env: { BRIDGE_RESOURCES: 'patients', CLINIKO_PER_PAGE: '2', CLINIKO_POLL_OVERLAP: '1s' },
    });
    await h.subscribe(['patient.deleted']);
    const first = h.sim.create('patients', { first_name: 'Early' });
    h.sim.create('patients', { first_name: 'Second' });
    let step = 0;
    h.sim.afterResponse = (info) => {
      if (info.method !== 'GET' || !info.path.endsWith('/patients')) return;
      step += 1;
      if (step === 1) {
        // After the first page: the record just read is deleted...
        c.tick(10_000);
        h.sim.remove('patients', first.id);
        // ...and, long after, others change, so the pass ends with a much newer updated_at.
        c.tick(100_000);
        h.sim.create('patients', { first_name: 'Late' });
      }
    };
    await h.poll();
    expect(step).toBeGreaterThan(1);
    h.sim.afterResponse = undefined;
    await h.poll();
    const got = await waitFor(() => h.receiver.ofType('patient.deleted')[0]);
    expect(got.payload.data.id).toBe(first.id);
  });
});

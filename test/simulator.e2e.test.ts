import { afterEach, describe, expect, it } from 'vitest';
import { ClinikoSimulator, type SimulatorOptions } from '../tools/simulator/index.js';

const KEY = 'sim-key-au1';
const UA = 'Bridge tests (tests@example.com)';
const T0 = Date.parse('2026-11-23T06:50:01.750Z');
const WHOLE_SECOND_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // Parsed JSON, loosely typed for assertions.
  body: any;
}

const running: ClinikoSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

/** A listening simulator with a controllable clock and a small HTTP client for it. */
async function start(opts: SimulatorOptions = {}) {
  let clock = T0;
  const sim = new ClinikoSimulator({ rateLimitPerMin: 0, now: () => clock, ...opts });
  running.push(sim);
  const { baseUrl } = await sim.listen();
  const auth = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;

  async function request(pathOrUrl: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Reply> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${baseUrl}${pathOrUrl}`;
    const res = await fetch(url, {
      ...init,
      headers: { Authorization: auth, 'User-Agent': UA, Accept: 'application/json', ...init.headers },
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  }

  /** Follows `links.next` from `path` and returns every page body. */
  async function pages(path: string): Promise<Reply['body'][]> {
    const bodies = [];
    let url: string | undefined = path;
    while (url) {
      const reply = await request(url);
      expect(reply.status).toBe(200);
      bodies.push(reply.body);
      url = reply.body.links.next;
    }
    return bodies;
  }

  const ids = (reply: Reply, resource = 'patients'): string[] => reply.body[resource].map((r: { id: string }) => r.id);

  return {
    sim,
    baseUrl,
    request,
    pages,
    ids,
    tick: (ms: number) => {
      clock += ms;
    },
    clock: () => clock,
  };
}

const byNumericId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

describe('auth', () => {
  it('answers 401 for a missing or wrong key and 403 without a vendor User-Agent', async () => {
    const { request } = await start();
    const wrong = `Basic ${Buffer.from('other-key:').toString('base64')}`;
    const withPassword = `Basic ${Buffer.from(`${KEY}:secret`).toString('base64')}`;

    for (const headers of [{ Authorization: '' }, { Authorization: wrong }, { Authorization: withPassword }]) {
      const reply = await request('/patients', { headers });
      expect(reply.status).toBe(401);
      expect(typeof reply.body.message).toBe('string');
    }
    for (const ua of ['', 'curl/8.0', 'Bridge (not-an-email)']) {
      const reply = await request('/patients', { headers: { 'User-Agent': ua } });
      expect(reply.status).toBe(403);
      expect(typeof reply.body.message).toBe('string');
    }
    expect((await request('/patients')).status).toBe(200);
  });

  it('answers unknown routes and ids with 404 JSON', async () => {
    const { request, sim } = await start();
    expect((await request('/widgets')).status).toBe(404);
    expect((await request('/patients/123')).body).toEqual({ message: expect.any(String) });
    expect((await request('/patients/abc')).status).toBe(404);
    const patient = sim.create('patients');
    expect((await request(`/patients/${patient.id}`)).body.id).toBe(patient.id);
  });
});

describe('lists', () => {
  it('pages with absolute links that keep the query, to the end', async () => {
    const { sim, pages, request, baseUrl } = await start();
    sim.seed({ patients: 120 });
    const bodies = await pages('/patients?per_page=50&sort=created_at&q[]=created_at:>2000-01-01T00:00:00Z');

    expect(bodies.map((b) => b.patients.length)).toEqual([50, 50, 20]);
    expect(bodies.every((b) => b.total_entries === 120)).toBe(true);
    const seen = bodies.flatMap((b) => b.patients.map((p: { id: string }) => p.id));
    expect(new Set(seen).size).toBe(120);

    const [first, second, last] = bodies;
    expect(first.links.previous).toBeUndefined();
    expect(second.links.previous).toBeDefined();
    expect(last.links.next).toBeUndefined();
    const next = new URL(first.links.next);
    expect(next.origin).toBe(new URL(baseUrl).origin);
    expect(next.searchParams.get('page')).toBe('2');
    expect(next.searchParams.get('per_page')).toBe('50');
    expect(next.searchParams.getAll('q[]')).toEqual(['created_at:>2000-01-01T00:00:00Z']);

    expect((await request('/patients')).body.patients).toHaveLength(50);
    expect((await request('/patients?page=9')).body.patients).toEqual([]);
    expect((await request('/patients?per_page=101')).status).toBe(400);
    expect((await request('/patients?per_page=0')).status).toBe(400);
    expect((await request('/patients?page=0')).status).toBe(400);
  });

  it('sorts asc and desc, breaking ties by numeric id', async () => {
    // Ids cross from 3 to 4 digits, where string order and number order differ.
    const { sim, request, ids, tick } = await start({ firstId: '990' });
    const sameSecond = Array.from({ length: 12 }, () => sim.create('patients').id);
    tick(1000);
    const later = sim.create('patients').id;
    expect(sameSecond.some((id) => id.length === 3) && sameSecond.some((id) => id.length === 4)).toBe(true);
    const ascending = [...sameSecond].sort(byNumericId);

    expect(ids(await request('/patients'))).toEqual([...ascending, later]);
    expect(ids(await request('/patients?sort=created_at:desc'))).toEqual([later, ...ascending]);
    expect(ids(await request('/patients?order=desc'))).toEqual([later, ...ascending]);
    expect(ids(await request('/patients?sort=id:desc'))).toEqual([later, ...[...ascending].reverse()]);

    // updated_at then id: an edit moves a record to the end.
    tick(1000);
    sim.update('patients', ascending[0] as string, { notes: 'moved' });
    expect(ids(await request('/patients?sort=updated_at,id')).at(-1)).toBe(ascending[0]);
    expect(ids(await request('/patients?sort=updated_at:desc,id')).at(0)).toBe(ascending[0]);
    expect((await request('/patients?sort=notes')).status).toBe(400);
  });

  it('keeps sort orders right while records change between requests', async () => {
    const { sim, request, tick } = await start();
    sim.seed({ patients: 40, individual_appointments: 60, group_appointments: 3, attendees: 30 });
    const path = '/individual_appointments?sort=updated_at,id&per_page=100&q[]=cancelled_at:*';
    const expected = () =>
      sim
        .all('individual_appointments')
        .filter((r) => r.archived_at === null && r.deleted_at === null)
        .sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : byNumericId(a.id, b.id)))
        .map((r) => r.id)
        .slice(0, 100);
    // Few changes between requests are re-placed in the kept order; many trigger a full re-sort.
    for (const changes of [1, 3, 20, 600]) {
      expect((await request(path)).body.individual_appointments.map((r: { id: string }) => r.id)).toEqual(expected());
      for (let i = 0; i < changes; i++) {
        if (i % 7 === 0) tick(1000);
        sim.randomChange();
      }
    }
    const last = await request(path);
    expect(last.body.total_entries).toBe(expected().length);
  });

  it('sorts 19-digit ids numerically by default', async () => {
    const { sim, request, ids } = await start();
    sim.seed({ patients: 60 });
    const all = sim.all('patients').map((p) => p.id);
    expect(new Set(all.map((id) => id.length)).size).toBe(2);
    expect(ids(await request('/patients?sort=id&per_page=100'))).toEqual([...all].sort(byNumericId));
  });
});

describe('filters', () => {
  it('applies datetime operators as instants, with fractions and offsets', async () => {
    const { sim, request, ids, tick } = await start();
    const a = sim.create('patients').id; // 06:50:01
    tick(1000);
    const b = sim.create('patients').id; // 06:50:02
    tick(1000);
    const c = sim.create('patients').id; // 06:50:03
    const q = (f: string) => request(`/patients?q[]=${encodeURIComponent(f)}`).then((r) => ids(r));

    expect(await q('created_at:>2026-11-23T06:50:01Z')).toEqual([b, c]);
    expect(await q('created_at:>=2026-11-23T06:50:02Z')).toEqual([b, c]);
    expect(await q('created_at:<2026-11-23T06:50:02Z')).toEqual([a]);
    expect(await q('created_at:<=2026-11-23T06:50:02Z')).toEqual([a, b]);
    expect(await q('created_at:>=2026-11-23T06:50:01.500Z')).toEqual([b, c]);
    expect(await q('created_at:>2026-11-23T06:50:01.500Z')).toEqual([b, c]);
    expect(await q('created_at:<=2026-11-23T06:50:02.999Z')).toEqual([a, b]);
    expect(await q('created_at:>=2026-11-23T16:50:02+10:00')).toEqual([b, c]);
    expect(await q('created_at:*')).toEqual([a, b, c]);
    expect(await q('created_at:?')).toEqual([a, b, c]);
    expect(await q('created_at:!?')).toEqual([]);
    expect((await request('/patients?q[]=created_at:>yesterday')).status).toBe(400);
    expect((await request('/patients?q[]=created_at:=2026-11-23T06:50:01Z')).status).toBe(400);
  });

  it('applies id, integer and string operators, repeated q[] and single q', async () => {
    const { sim, request, ids } = await start();
    const ann = sim.create('patients', { first_name: 'Ann', last_name: 'Jackson', email: null }).id;
    const bob = sim.create('patients', { first_name: 'Bob', last_name: 'Robinson', email: 'bob@example.com' }).id;
    const cat = sim.create('patients', { first_name: 'Cat', last_name: 'Smith', email: 'cat@example.com' }).id;
    const q = (...filters: string[]) =>
      request(`/patients?${filters.map((f) => `q[]=${encodeURIComponent(f)}`).join('&')}`).then((r) => ids(r));

    expect(await q(`id:=${ann},${cat}`)).toEqual([ann, cat]);
    expect(await q(`id:!=${ann}`)).toEqual([bob, cat]);
    expect(await q(`id:>${ann}`)).toEqual([bob, cat]);
    expect(await q(`id:<=${bob}`)).toEqual([ann, bob]);
    expect(await q('last_name:=Smith')).toEqual([cat]);
    expect(await q('last_name:!=Smith')).toEqual([ann, bob]);
    expect(await q('last_name:~SON')).toEqual([ann, bob]);
    expect(await q('last_name:~~r%in%n')).toEqual([bob]);
    expect(await q('email:?')).toEqual([bob, cat]);
    expect(await q('email:!?')).toEqual([ann]);
    expect(await q('email:*')).toEqual([ann, bob, cat]);
    expect(await q('last_name:~son', 'first_name:=Bob')).toEqual([bob]);
    expect(ids(await request('/patients?q=first_name:~a'))).toEqual([ann, cat]);
    expect((await request('/patients?q[]=last_name:>A')).status).toBe(400);

    const doctor = sim.create('contacts', { type_code: 1, type: 'Doctor' }).id;
    sim.create('contacts', { type_code: 0, type: 'Standard' });
    expect(ids(await request('/contacts?q[]=type_code:=1'), 'contacts')).toEqual([doctor]);
  });

  it('filters appointments and attendees by linked ids', async () => {
    const { sim, request, ids } = await start();
    const patient = sim.create('patients').id;
    const other = sim.create('patients').id;
    const appointment = sim.create('individual_appointments', { patient_id: patient }).id;
    sim.create('individual_appointments', { patient_id: other });
    const group = sim.create('group_appointments').id;
    const attendee = sim.create('attendees', { booking_id: group, patient_id: other }).id;

    const appointments = await request(`/individual_appointments?q[]=patient_id:=${patient}`);
    expect(ids(appointments, 'individual_appointments')).toEqual([appointment]);
    expect(appointments.body.individual_appointments[0].patient.links.self).toBe(`https://api.au1.cliniko.com/v1/patients/${patient}`);
    expect(ids(await request(`/attendees?q[]=booking_id:=${group}&q[]=patient_id:=${other}`), 'attendees')).toEqual([attendee]);
    expect(ids(await request(`/group_appointments/${group}/attendees`), 'attendees')).toEqual([attendee]);
  });

  it('rejects a column that is not searchable with 400', async () => {
    const { request } = await start();
    for (const path of ['/patients?q[]=notes:=x', '/contacts?q[]=patient_id:=1', '/patients?q=cancelled_at:*']) {
      const reply = await request(path);
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({ message: 'This column is not searchable.' });
    }
  });
});

describe('hidden records and old lists', () => {
  it('hides cancelled, archived and deleted records unless a filter names the column', async () => {
    const { sim, request, ids } = await start();
    const [live, cancelled, archived, deleted] = Array.from({ length: 4 }, () => sim.create('individual_appointments').id) as [
      string,
      string,
      string,
      string,
    ];
    sim.cancel('individual_appointments', cancelled, 40, 'On holiday');
    sim.archive('individual_appointments', archived);
    sim.remove('individual_appointments', deleted);
    const list = (query = '') => request(`/individual_appointments${query}`).then((r) => ids(r, 'individual_appointments'));

    expect(await list()).toEqual([live]);
    expect(await list('?q[]=cancelled_at:*')).toEqual([live, cancelled]);
    expect(await list('?q[]=cancelled_at:?')).toEqual([cancelled]);
    expect(await list('?q[]=archived_at:>2026-01-01T00:00:00Z')).toEqual([archived]);
    expect(await list('?q[]=deleted_at:*')).toEqual([live, deleted]);
    expect(await list('?q[]=cancelled_at:*&q[]=archived_at:*&q[]=deleted_at:*')).toEqual([live, cancelled, archived, deleted]);
    expect(ids(await request('/individual_appointments/cancelled'), 'individual_appointments')).toEqual([cancelled]);

    const record = (await request(`/individual_appointments/${cancelled}`)).body;
    expect(record).toMatchObject({
      cancellation_reason: 40,
      cancellation_reason_description: 'Away',
      cancellation_note: 'On holiday',
      cancelled_at: '2026-11-23T06:50:01Z',
    });
    expect((await request(`/individual_appointments/${deleted}`)).body.deleted_at).toBe('2026-11-23T06:50:01Z');

    sim.unarchive('individual_appointments', archived);
    expect(await list()).toEqual([live, archived]);
  });

  it('serves /deleted lists with only id and deleted_at filters', async () => {
    const { sim, request, ids, tick } = await start();
    const [keep, gone, goneLater] = Array.from({ length: 3 }, () => sim.create('patients').id) as [string, string, string];
    sim.remove('patients', gone);
    tick(5000);
    sim.remove('patients', goneLater);

    const reply = await request('/patients/deleted');
    expect(reply.status).toBe(200);
    expect(reply.body.total_entries).toBe(2);
    expect(reply.body.patients[0]).toEqual({
      id: gone,
      deleted_at: '2026-11-23T06:50:01Z',
      links: { self: `https://api.au1.cliniko.com/v1/patients/${gone}` },
    });
    expect(ids(await request('/patients/deleted?q[]=deleted_at:>=2026-11-23T06:50:05Z'))).toEqual([goneLater]);
    expect(ids(await request(`/patients/deleted?q[]=id:=${gone}`))).toEqual([gone]);
    expect(ids(await request('/patients'))).toEqual([keep]);

    const unsearchable = await request('/patients/deleted?q[]=updated_at:>2026-01-01T00:00:00Z');
    expect(unsearchable.status).toBe(400);
    expect(unsearchable.body.message).toBe('This column is not searchable.');
    expect((await request('/contacts/deleted')).status).toBe(404);

    const attendee = sim.create('attendees').id;
    sim.remove('attendees', attendee);
    const attendees = await request('/attendees/deleted');
    expect(ids(attendees, 'attendees')).toEqual([attendee]);
    expect(attendees.body.attendees[0].booking).toBeDefined();

    const contact = sim.create('contacts').id;
    sim.archive('contacts', contact);
    expect(ids(await request('/contacts/archived'), 'contacts')).toEqual([contact]);
    expect((await request('/contacts/cancelled')).status).toBe(404);
  });
});

describe('timestamps', () => {
  it('writes whole-second UTC and a frozen clock gives equal updated_at', async () => {
    const { sim, tick } = await start();
    sim.seed({ patients: 5, individual_appointments: 5, attendees: 3 });
    for (const resource of ['patients', 'individual_appointments', 'attendees'] as const) {
      for (const record of sim.all(resource)) {
        expect(record.created_at).toMatch(WHOLE_SECOND_UTC);
        expect(record.updated_at).toMatch(WHOLE_SECOND_UTC);
        expect(Date.parse(record.updated_at)).toBeGreaterThanOrEqual(Date.parse(record.created_at));
        expect(Date.parse(record.updated_at)).toBeLessThan(T0);
      }
    }

    const a = sim.create('patients');
    expect(a.created_at).toBe('2026-11-23T06:50:01Z');
    expect(a.updated_at).toBe(a.created_at);
    const first = sim.update('patients', a.id, { notes: 'one' });
    const second = sim.archive('patients', a.id);
    expect(first.updated_at).toBe(second.updated_at);
    tick(250);
    expect(sim.update('patients', a.id, { notes: 'two' }).updated_at).toBe('2026-11-23T06:50:02Z');
    expect(sim.update('patients', a.id, { notes: 'x', created_at: '2000-01-01T00:00:00Z', id: '1' }).created_at).toBe(a.created_at);
    // Copies: changing what get() returns does not change the account.
    const copy = sim.get('patients', a.id);
    if (copy) copy.first_name = 'Changed';
    expect(sim.get('patients', a.id)?.first_name).toBe(a.first_name);
  });

  it('seeds attendees linked to existing appointments and patients, reproducibly', async () => {
    const one = new ClinikoSimulator({ now: () => T0, seed: 7 });
    const two = new ClinikoSimulator({ now: () => T0, seed: 7 });
    for (const sim of [one, two]) sim.seed({ patients: 10, group_appointments: 2, individual_appointments: 3, attendees: 8 });
    expect(one.all('attendees')).toEqual(two.all('attendees'));

    const groups = new Set(one.all('group_appointments').map((g) => g.id));
    const patients = new Set(one.all('patients').map((p) => p.id));
    for (const attendee of one.all('attendees')) {
      const booking = (attendee.booking as { links: { self: string } }).links.self.split('/').pop();
      const patient = (attendee.patient as { links: { self: string } }).links.self.split('/').pop();
      expect(groups.has(booking as string)).toBe(true);
      expect(patients.has(patient as string)).toBe(true);
    }
    const changes = [one.randomChange(), one.randomChange(), one.randomChange()];
    expect([two.randomChange(), two.randomChange(), two.randomChange()]).toEqual(changes);
    for (const change of changes) expect(one.get(change.resource, change.id)?.updated_at).toMatch(WHOLE_SECOND_UTC);
  });
});

describe('rate limit', () => {
  it('answers 429 with X-RateLimit-Reset after the per-minute budget, until the window resets', async () => {
    const { request, tick } = await start({ rateLimitPerMin: 3 });
    const windowReset = String(Date.parse('2026-11-23T06:51:00Z') / 1000);
    const remaining = [];
    for (let i = 0; i < 3; i++) {
      const reply = await request('/patients');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(reply.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const limited = await request('/contacts');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ message: 'Rate limit exceeded' });
    expect(limited.headers.get('x-ratelimit-reset')).toBe(windowReset);
    expect(limited.headers.get('retry-after')).toBeNull();

    tick(60_000);
    expect((await request('/patients')).status).toBe(200);
  });
});

describe('faults', () => {
  it('injects statuses in order, with Retry-After and X-RateLimit-Reset where asked', async () => {
    const { sim, request, clock } = await start({ rateLimitPerMin: 2 });
    const nowSeconds = Math.floor(clock() / 1000);
    sim.injectFault({ status: 429 });
    sim.injectFault({ status: 503, retryAfterSeconds: 30 });
    sim.injectFault({ status: 500, times: 2 });

    const tooMany = await request('/patients');
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers.get('x-ratelimit-reset')).toBe(String(nowSeconds + 5));
    expect(tooMany.headers.get('retry-after')).toBeNull();

    const unavailable = await request('/patients');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('30');
    expect(unavailable.headers.get('x-ratelimit-reset')).toBe(String(nowSeconds + 30));
    expect((await request('/patients')).status).toBe(500);

    // The injected 429 did not count: the budget of 2 ran out on the 503 and the first 500.
    const limited = await request('/patients');
    expect(limited.status).toBe(429);
    expect(limited.body.message).toBe('Rate limit exceeded');
  });

  it('injects 429 with Retry-After, path-scoped faults, malformed bodies and delays', async () => {
    const { sim, request } = await start();
    sim.injectFault({ status: 429, retryAfterSeconds: 2 });
    const tooMany = await request('/patients');
    expect(tooMany.headers.get('retry-after')).toBe('2');

    sim.injectFault({ malformed: true, pathIncludes: '/contacts' });
    expect((await request('/patients')).status).toBe(200);
    const malformed = await request('/contacts');
    expect(malformed.status).toBe(200);
    expect(malformed.headers.get('content-type')).toContain('application/json');
    expect(() => JSON.parse(malformed.text)).toThrow();
    expect(malformed.text.startsWith('{"contacts": [')).toBe(true);

    sim.injectFault({ delayMs: 150 });
    const started = performance.now();
    const slow = await request('/patients');
    expect(slow.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    sim.injectFault({ status: 500, times: 5 });
    sim.clearFaults();
    expect((await request('/patients')).status).toBe(200);
    expect(sim.served.map((s) => s.status)).toEqual([429, 200, 200, 200, 200]);
  });

  it('also works through app.request in-process', async () => {
    const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
    sim.injectFault({ status: 502 });
    const headers = { Authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, 'User-Agent': UA };
    expect((await sim.app.request('/v1/patients', { headers })).status).toBe(502);
    expect((await sim.app.request('/v1/patients', { headers })).status).toBe(200);
  });
});

describe('afterResponse', () => {
  it('fires after each response is computed, so tests can change data between pages', async () => {
    const { sim, request } = await start();
    sim.seed({ patients: 6 });
    const ordered = sim.all('patients').map((p) => p.id);
    const seen: string[] = [];
    sim.afterResponse = (info) => {
      seen.push(`${info.status} ${info.path} page=${info.page} count=${info.count}`);
      // Deleting a record already served shifts the next page by one: the classic offset-paging gap.
      if (info.page === 1) sim.remove('patients', ordered[0] as string);
    };

    const first = await request('/patients?per_page=3');
    expect(first.body.patients.map((p: { id: string }) => p.id)).toEqual(ordered.slice(0, 3));
    const second = await request(first.body.links.next);
    expect(second.body.total_entries).toBe(5);
    expect(second.body.patients.map((p: { id: string }) => p.id)).toEqual(ordered.slice(4, 6));
    expect(seen).toEqual(['200 /v1/patients page=1 count=3', '200 /v1/patients page=2 count=2']);
    expect(sim.served.at(-1)).toMatchObject({ method: 'GET', resource: 'patients', page: 2, count: 2 });
  });
});

describe('writes over HTTP', () => {
  it('creates, updates, cancels, archives and deletes', async () => {
    const { request } = await start();
    const json = (method: string, body: unknown) => ({
      method,
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });

    const invalid = await request('/patients', json('POST', { first_name: 'Ann' }));
    expect(invalid.status).toBe(422);
    expect(invalid.body).toEqual({ message: 'Validation Failed', errors: { last_name: "can't be blank" } });

    const created = await request('/patients', json('POST', { first_name: 'Ann', last_name: 'Lee' }));
    expect(created.status).toBe(201);
    const patient = created.body.id as string;
    expect(created.headers.get('location')).toBe(`https://api.au1.cliniko.com/v1/patients/${patient}`);
    expect(created.body).toMatchObject({ first_name: 'Ann', email: null, archived_at: null });

    const updated = await request(`/patients/${patient}`, json('PUT', { email: 'ann@example.com' }));
    expect(updated.status).toBe(200);
    expect(updated.body.email).toBe('ann@example.com');

    const appointment = await request(
      '/individual_appointments',
      json('POST', { patient_id: patient, starts_at: '2026-12-01T10:00:00+10:00' }),
    );
    expect(appointment.body).toMatchObject({
      patient_name: 'Ann Lee',
      starts_at: '2026-12-01T00:00:00Z',
      ends_at: '2026-12-01T00:30:00Z',
    });
    const appointmentPath = `/individual_appointments/${appointment.body.id}`;
    expect((await request(`${appointmentPath}/cancel`, json('PATCH', {}))).status).toBe(422);
    expect((await request(`${appointmentPath}/cancel`, json('PATCH', { cancellation_reason: 50 }))).status).toBe(204);
    expect((await request(appointmentPath)).body.cancellation_reason_description).toBe('Other');
    expect((await request(`/patients/${patient}/cancel`, json('PATCH', { cancellation_reason: 50 }))).status).toBe(404);

    expect((await request(`/patients/${patient}/archive`, { method: 'PATCH' })).status).toBe(204);
    expect((await request('/patients/archived')).body.total_entries).toBe(1);
    expect((await request(`/patients/${patient}`, { method: 'DELETE' })).status).toBe(204);
    expect((await request('/patients/deleted')).body.patients[0].id).toBe(patient);
    expect((await request('/patients/1', { method: 'DELETE' })).status).toBe(404);
  });
});

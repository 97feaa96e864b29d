import { describe, expect, it } from 'vitest';
import { parseFilter } from '../tools/simulator/filters.js';
import { ClinikoSimulator, type SimRecord } from '../tools/simulator/index.js';
import { selectRows, type ListKind } from '../tools/simulator/list.js';
import { columnValue, RESOURCE_SPECS } from '../tools/simulator/resources.js';
import { parseSort, sortRows } from '../tools/simulator/sorting.js';

const RESOURCE = 'individual_appointments';
const SPEC = RESOURCE_SPECS[RESOURCE];
const T0 = Date.parse('2026-11-23T06:50:01Z');
const AUTH = { Authorization: `Basic ${Buffer.from('sim-key-au1:').toString('base64')}`, 'User-Agent': 'Tests (tests@example.com)' };

/** A generated account of `count` appointments with a controllable clock, requested in-process. */
function generatedSim(count: number, spanDays?: number, seed?: number) {
  let clock = T0;
  const sim = new ClinikoSimulator({
    rateLimitPerMin: 0,
    now: () => clock,
    generated: { resource: RESOURCE, count, ...(spanDays === undefined ? {} : { spanDays }) },
    ...(seed === undefined ? {} : { seed }),
  });
  const get = async (path: string) => {
    const res = await sim.app.request(`http://sim/v1/${path}`, { headers: AUTH });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  return { sim, gen: sim.generated!, get, tick: (ms = 1000) => (clock += ms) };
}

/** What a stored account holding the same records answers: every record materialised, filtered, sorted, paged. */
function reference(records: SimRecord[], kind: ListKind, q: string[], sort: string, page: number, perPage: number) {
  const columns = kind === 'deleted' ? { id: 'id' as const, deleted_at: 'datetime' as const } : SPEC.columns;
  const filters = q.map((e) => parseFilter(e, columns));
  const keys = parseSort(sort, undefined, SPEC.columns);
  const rows = sortRows(selectRows(records, SPEC, kind, filters), keys, (row, column) => columnValue(SPEC, row, column));
  return { ids: rows.slice((page - 1) * perPage, page * perPage).map((r) => r.id), total: rows.length };
}

function query(q: string[], sort: string, page: number, perPage: number): string {
  const params = new URLSearchParams();
  for (const f of q) params.append('q[]', f);
  params.set('sort', sort);
  params.set('page', String(page));
  params.set('per_page', String(perPage));
  return params.toString();
}

describe('generated account (a large resource derived from record indices)', () => {
  it('generates the same realistic records for the same seed, and different ones for another', () => {
    const a = generatedSim(1_000_000).gen;
    const b = generatedSim(1_000_000).gen;
    const c = generatedSim(1_000_000, undefined, 7).gen;
    const record = a.generated(123_456);
    expect(b.generated(123_456)).toEqual(record);
    expect(c.generated(123_456)).not.toEqual(record);
    // An appointment as the API serves it: every field, links, no lifecycle column set.
    expect(JSON.stringify(record).length).toBeGreaterThan(1_200);
    expect(record).toMatchObject({
      cancelled_at: null,
      archived_at: null,
      deleted_at: null,
      links: { self: expect.stringContaining(record.id) },
    });
    expect((record.patient as { links: { self: string } }).links.self).toMatch(/\/patients\/\d+$/);
    // Ids, created_at and updated_at increase strictly with the index; updated_at never precedes created_at.
    for (let i = 0; i < 2_000; i++) {
      const [x, y] = [a.generated(i), a.generated(i + 1)];
      expect(BigInt(y.id) > BigInt(x.id)).toBe(true);
      expect(y.created_at > x.created_at && y.updated_at > x.updated_at && x.updated_at >= x.created_at).toBe(true);
    }
    expect(a.generated(999_999).updated_at < '2026-11-23T06:50:01Z').toBe(true);
    expect(() => a.generated(1_000_000)).toThrow(RangeError);
  });

  it('answers lists as a stored account holding the same records would, before and after changes', async () => {
    // Span 0 days: one second apart, so bounds fall between neighbours.
    for (const spanDays of [0, 3650]) {
      const { sim, gen, get, tick } = generatedSim(257, spanDays);
      const created: string[] = [];
      const materialise = () => [
        ...Array.from({ length: gen.count }, (_, i) => sim.get(RESOURCE, gen.idAt(i))!),
        ...created.map((id) => sim.get(RESOURCE, id)!),
      ];
      const at = (i: number) => gen.generated(i).updated_at;
      const queries: Array<{ kind: ListKind; q: string[]; sort: string; perPage: number }> = [
        { kind: 'live', q: [], sort: 'created_at', perPage: 50 },
        { kind: 'live', q: ['cancelled_at:*', 'archived_at:*', 'deleted_at:*'], sort: 'updated_at,id', perPage: 100 },
        { kind: 'live', q: [`updated_at:>=${at(40)}`, `updated_at:<${at(200)}`], sort: 'updated_at,id', perPage: 30 },
        { kind: 'live', q: [`updated_at:>${at(40)}`, `created_at:<=${gen.generated(90).created_at}`], sort: 'id', perPage: 7 },
        { kind: 'live', q: ['cancelled_at:*'], sort: 'updated_at:desc', perPage: 1 },
        { kind: 'live', q: ['cancelled_at:*'], sort: 'updated_at:desc', perPage: 40 },
        { kind: 'live', q: [`id:>${gen.idAt(100)}`, `id:!=${gen.idAt(120)}`], sort: 'id:desc', perPage: 25 },
        { kind: 'live', q: [`id:=${gen.idAt(3)},${gen.idAt(250)},${gen.idAt(17)},12`], sort: 'updated_at', perPage: 2 },
        { kind: 'live', q: [`id:=${gen.idAt(3)},${gen.idAt(10)},${gen.idAt(17)}`], sort: 'id:desc', perPage: 2 },
        { kind: 'live', q: ['cancelled_at:?'], sort: 'updated_at,id', perPage: 50 },
        { kind: 'live', q: ['deleted_at:!?', 'id:!?'], sort: 'id', perPage: 50 },
        { kind: 'deleted', q: [`deleted_at:>=2026-01-01T00:00:00Z`], sort: 'deleted_at,id', perPage: 50 },
        { kind: 'cancelled', q: [], sort: 'updated_at,id', perPage: 50 },
      ];
      const check = async () => {
        const records = materialise();
        for (const { kind, q, sort, perPage } of queries) {
          for (let page = 1; page <= 4; page++) {
            const want = reference(records, kind, q, sort, page, perPage);
            const path = `${RESOURCE}${kind === 'live' ? '' : `/${kind}`}?${query(q, sort, page, perPage)}`;
            const { status, body } = await get(path);
            expect(status, path).toBe(200);
            expect({ ids: body[RESOURCE].map((r: SimRecord) => r.id), total: body.total_entries }, `${path} (span ${spanDays})`).toEqual(
              want,
            );
          }
        }
      };
      await check();
      tick(60_000);
      sim.update(RESOURCE, gen.idAt(10), { notes: 'moved to the end' });
      sim.cancel(RESOURCE, gen.idAt(41));
      sim.remove(RESOURCE, gen.idAt(120));
      tick();
      sim.archive(RESOURCE, gen.idAt(200));
      created.push(sim.create(RESOURCE, { notes: 'new' }).id);
      // A change that keeps its second: it ties with the records changed with it and sorts by id.
      sim.update(RESOURCE, gen.idAt(0), { notes: 'same second' });
      await check();
      expect(sim.get(RESOURCE, gen.idAt(10))).toMatchObject({ notes: 'moved to the end', updated_at: '2026-11-23T06:51:01Z' });
    }
  });

  it('walks a million records by keyset in the bridge’s own queries without holding them', async () => {
    const { sim, gen, get, tick } = generatedSim(1_000_000);
    const first = await get(`${RESOURCE}?${query(['cancelled_at:*', 'updated_at:<2026-11-23T06:48:01Z'], 'updated_at,id', 1, 100)}`);
    expect(first.body.total_entries).toBe(1_000_000);
    expect(first.body[RESOURCE][0].id).toBe(gen.idAt(0));
    const last = first.body[RESOURCE][99] as SimRecord;
    const next = await get(`${RESOURCE}?${query([`updated_at:>${last.updated_at}`], 'updated_at,id', 1, 100)}`);
    expect(next.body[RESOURCE][0].id).toBe(gen.idAt(100));
    expect(next.body.total_entries).toBe(999_900);
    // An idle incremental read (nothing changed since) is empty; after one change it holds that record.
    const since = ['cancelled_at:*', 'archived_at:*', 'deleted_at:*', 'updated_at:>=2026-11-23T06:46:01Z'];
    expect((await get(`${RESOURCE}?${query(since, 'updated_at,id', 1, 100)}`)).body.total_entries).toBe(0);
    tick();
    const id = gen.idAt(654_321);
    const res = await sim.app.request(`http://sim/v1/${RESOURCE}/${id}`, {
      method: 'PATCH',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ notes: 'Running late.' }),
    });
    expect(res.status).toBe(200);
    const after = await get(`${RESOURCE}?${query(since, 'updated_at,id', 1, 100)}`);
    expect(after.body[RESOURCE].map((r: SimRecord) => [r.id, r.notes])).toEqual([[id, 'Running late.']]);
    // The keyset walk no longer finds it at its old place.
    const around = await get(`${RESOURCE}?${query([`id:>=${gen.idAt(654_320)}`], 'id', 1, 3)}`);
    expect(around.body[RESOURCE].map((r: SimRecord) => r.id)).toEqual([gen.idAt(654_320), id, gen.idAt(654_322)]);
    expect(around.body[RESOURCE][1].notes).toBe('Running late.');
  });

  it('refuses with 400 what it cannot answer without a scan, and seeding or listing the generated resource whole', async () => {
    const { sim, get } = generatedSim(1_000);
    const byStart = await get(`${RESOURCE}?${query(['starts_at:>2026-01-01T00:00:00Z'], 'id', 1, 10)}`);
    expect(byStart.status).toBe(400);
    expect(byStart.body.message).toMatch(/cannot filter by starts_at/);
    expect((await get(`${RESOURCE}?${query([], 'starts_at', 1, 10)}`)).body.message).toMatch(/cannot sort by starts_at/);
    expect(() => sim.seed({ [RESOURCE]: 5 })).toThrow(/generated/);
    expect(() => sim.all(RESOURCE)).toThrow(/get\(\)/);
    // Other resources are stored as usual.
    sim.seed({ patients: 3 });
    expect((await get('patients')).body.total_entries).toBe(3);
  });
});

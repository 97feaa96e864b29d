import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { ADMIN_TOKEN, simulatorBridgeEnv, waitFor } from '../test/helpers/harness.js';
import { sql, startPostgres } from '../test/helpers/postgres.js';
import { kill, startProcess } from '../test/helpers/process.js';

/**
 * The bridge on PostgreSQL at scale, as real processes (`src/main.ts`) against the Cliniko simulator:
 *
 *   node --import tsx bench/postgres-scale.ts [small=10000] [large=1000000] [pollSeconds=40]
 *
 * - RSS: a bridge polling `patients` whose schema holds `small`, then `large` snapshots (the extra
 *   rows written in SQL after a real baseline), while records change; peak (VmHWM) and current
 *   (VmRSS) resident size of the process after `pollSeconds`. The bridge must not load snapshots
 *   into memory, so the two should be close.
 * - Failover: two processes on one schema; the holder of the `cliniko:patients` lease is SIGKILLed;
 *   seconds until the simulator serves the survivor's first `patients` request.
 * Prints one JSON line per measure.
 */
const small = Number(process.argv[2] ?? 10_000);
const large = Number(process.argv[3] ?? 1_000_000);
const pollSeconds = Number(process.argv[4] ?? 40);

const pg = await startPostgres();
const sim = new ClinikoSimulator({ rateLimitPerMin: 0 });
sim.seed({ patients: 20 });
const { baseUrl } = await sim.listen();
const dataDir = await mkdtemp(join(tmpdir(), 'bridge-pg-scale-'));

const env = (schema: string, id: string) => ({
  ...simulatorBridgeEnv(baseUrl, join(dataDir, id)),
  BRIDGE_DATABASE_URL: pg.url,
  BRIDGE_DATABASE_SCHEMA: schema,
  BRIDGE_INSTANCE_ID: id,
  BRIDGE_RESOURCES: 'patients',
  LOG_LEVEL: 'warn',
});
// startProcess waits for the 'bridge started' line, an info line.
const start = (schema: string, id: string) => startProcess({ ...env(schema, id), LOG_LEVEL: 'info' });

async function sources(url: string): Promise<Array<{ cursor?: { baseline_done?: boolean } }>> {
  const res = await fetch(`${url}/v1/sources`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return ((await res.json()) as { data: Array<{ cursor?: { baseline_done?: boolean } }> }).data;
}

async function memory(pid: number): Promise<{ rss_mb: number; peak_rss_mb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss_mb: Math.round(kb('VmRSS') / 1024), peak_rss_mb: Math.round(kb('VmHWM') / 1024) };
}

try {
  for (const [label, total] of [
    ['small', small],
    ['large', large],
  ] as const) {
    const schema = `scale_${label}`;
    // A real baseline writes the resource's cursor and its snapshots; then the volume is added.
    const first = await start(schema, 'seed');
    await waitFor(async () => (await sources(first.url)).every((r) => r.cursor?.baseline_done), 60_000, 'baseline');
    // The first pass runs in the background after the live start: wait for every record's snapshot.
    const resource = await waitFor(
      async () =>
        (
          await sql<{ resource: string; n: string }>(pg.url, `SELECT resource, count(*) AS n FROM ${schema}.snapshots GROUP BY resource`)
        ).find((r) => Number(r.n) >= 20)?.resource,
      120_000,
      'the first pass',
    );
    await kill(first.child);
    await sql(pg.url, `DELETE FROM ${schema}.leases`);
    const t0 = performance.now();
    await sql(
      pg.url,
      `INSERT INTO ${schema}.snapshots (resource, id, version, live, doc)
       SELECT $2, 'seed' || i, '2026-01-01T00:00:00.000Z', true,
              json_build_object('version', '2026-01-01T00:00:00.000Z',
                'record', json_build_object('id', 'seed' || i, 'first_name', 'Seed', 'last_name', 'Record ' || i,
                  'updated_at', '2026-01-01T00:00:00.000Z', 'notes', repeat('x', 400)))::text
       FROM generate_series(1, $1) i`,
      [total - 20, resource],
    );
    await sql(pg.url, `ANALYZE ${schema}.snapshots`);
    const seedMs = performance.now() - t0;
    const [count] = await sql<{ n: string }>(pg.url, `SELECT count(*) AS n FROM ${schema}.snapshots`);
    const bridge = await start(schema, 'measured');
    const until = Date.now() + pollSeconds * 1000;
    let n = 0;
    while (Date.now() < until) {
      const live = sim.all('patients').filter((p) => !p.deleted_at && !p.archived_at);
      const p = live[n++ % live.length]!;
      sim.update('patients', p.id, { notes: `change ${n}` });
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const mem = await memory(bridge.child.pid!);
    await kill(bridge.child);
    process.stdout.write(
      `${JSON.stringify({ measure: 'rss', snapshots: Number(count!.n), seed_s: Math.round(seedMs / 1000), poll_s: pollSeconds, changes: n, ...mem })}\n`,
    );
  }

  // Failover on the small schema: two processes, the patients lease holder killed.
  const schema = 'scale_small';
  const a = await start(schema, 'fa');
  const b = await start(schema, 'fb');
  const procs = new Map([
    ['fa', a],
    ['fb', b],
  ]);
  const holder = await waitFor(
    async () => (await sql<{ holder: string }>(pg.url, `SELECT holder FROM ${schema}.leases WHERE name = 'cliniko:patients'`))[0]?.holder,
    60_000,
    'a lease holder',
  );
  // Let the holder poll at least once more, so the lease is fresh when it dies.
  const before = sim.served.length;
  await waitFor(() => sim.served.length > before, 60_000, 'a poll by the holder');
  await kill(procs.get(holder)!.child);
  const killedAt = Date.now();
  const served = sim.served.length;
  await waitFor(() => sim.served.slice(served).some((s) => s.resource === 'patients'), 120_000, 'the survivor polling patients');
  const tookMs = sim.served.slice(served).find((s) => s.resource === 'patients')!.at - killedAt;
  process.stdout.write(`${JSON.stringify({ measure: 'failover', killed: holder, seconds: Math.round(tookMs / 100) / 10 })}\n`);
  for (const p of procs.values()) await kill(p.child);
} finally {
  await sim.close();
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
}

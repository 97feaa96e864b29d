import { mkdtemp, rm } from 'node:fs/promises';
import { clinicSeed } from '../tools/simulator/clinic-seed.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ManualClock } from '../src/poller/clock.js';
import { Poller } from '../src/poller/poller.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { simulatorFeeds } from '../tools/simulator/feeds.js';
import { LowdbStore } from '../src/store/lowdb-store.js';

/** What `bench/run.ts` lends a benchmark section: its sizes switch and its output. */
export interface BenchContext {
  quick: boolean;
  table: (title: string, rows: Array<Record<string, string | number>>) => void;
  log: (line: string) => void;
  results: Record<string, unknown>;
}

const LIMIT = 200;
const PER_PAGE = 100;
const LATENCY_MS = 250;
const MINUTE = 60_000;
/** When the clinic makes its first change after the bridge's first start. */
const FIRST_CHANGE_AFTER_MS = 1_000;

/**
 * Issue "Live from the first minute": a bridge starting for the first time on a large simulated
 * account (every resource enabled, Cliniko's 200 requests/min enforced, 250 ms a request), in
 * simulated time. Measures how long after the first start the first change to an appointment is
 * delivered (target ≤ 30 s), and how long the background first pass then takes to read the whole
 * account, against the lower bound of the blocking first pass it replaces (one request per 100
 * records at 180 requests/min, before any event).
 */
export async function liveStart({ quick, table, log, results }: BenchContext): Promise<void> {
  const appointments = quick ? 20_000 : 200_000;
  const patients = quick ? 8_000 : 80_000;
  // Ten times the small clinic, with the appointments, patients and invoices asked for.
  const seed = clinicSeed({
    practitioners: 8,
    patients,
    contacts: 400,
    patient_cases: 150,
    medical_alerts: 300,
    individual_appointments: appointments,
    group_appointments: 120,
    unavailable_blocks: 200,
    attendees: 800,
    invoices: quick ? 2_000 : 12_000,
    invoice_items: 2_400,
    treatment_notes: quick ? 1_500 : 4_000,
    patient_forms: 400,
    patient_attachments: 300,
    communications: 1_200,
    stock_adjustments: 300,
  });
  const records = Object.values(seed).reduce((a, b) => a + b, 0);
  const start = Date.parse('2026-11-23T08:00:00Z');
  const clock = new ManualClock(start - 60 * MINUTE);
  const sim = new ClinikoSimulator({
    rateLimitPerMin: LIMIT,
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    latencyMs: LATENCY_MS,
    seed: 3,
  });
  const seedT0 = performance.now();
  sim.seed(seed);
  log(`  live start: seeded ${records} records in ${((performance.now() - seedT0) / 1000).toFixed(1)} s`);
  clock.advanceTo(start);
  const { baseUrl } = await sim.listen();
  const dir = await mkdtemp(join(tmpdir(), 'bench-live-'));
  const store = new LowdbStore(dir);
  await store.load();
  const { client, feeds } = simulatorFeeds({
    baseUrl,
    userAgent: 'Bench (bench@example.com)',
    rateLimitPerMin: LIMIT,
    clock,
    perPage: PER_PAGE,
  });
  const changed = sim.all('individual_appointments')[Math.floor(appointments / 3)]!.id;
  let deliveredAt: number | null = null;
  const firstEventIds: string[] = [];
  let passRunningThen = false;
  const poller = new Poller({
    store,
    feeds,
    logger: pino({ level: 'silent' }),
    backfill: false,
    clock,
    onEvents: (ids) => {
      // Only the appointment change is made in the first minute: the first appointment event is it.
      if (deliveredAt !== null) return;
      firstEventIds.push(...ids);
      deliveredAt = clock.now();
      passRunningThen = poller.describe().some((r) => r.first_pass?.status === 'running');
    },
  });
  const busy = async () => {
    await store.flush();
    return client.inFlight > sim.waiting;
  };
  const running = () => poller.describe().filter((r) => r.first_pass?.status === 'running');

  const wallT0 = performance.now();
  poller.start('* * * * * *');
  await clock.runUntil(start + MINUTE, busy, [
    { at: start + FIRST_CHANGE_AFTER_MS, run: () => void sim.update('individual_appointments', changed, { notes: 'first change' }) },
  ]);
  const firstWallS = (performance.now() - wallT0) / 1000;
  const firstEvents = await Promise.all(firstEventIds.map((id) => store.getEvent(id)));
  if (!firstEvents.some((e) => e?.payload.data.id === changed)) throw new Error('the first event delivered was not the change made');
  log(
    `  live start: first change delivered ${deliveredAt === null ? 'never' : `${(deliveredAt - start) / 1000} s`} after the first start (simulated; the first simulated minute took ${firstWallS.toFixed(1)} s wall)`,
  );
  // Then the background pass, for a while: reading 300k records in the spare room takes over an
  // hour of simulated time (hours of wall time on a shared 2-core machine); past the cap, the
  // bridge's own estimate of its completion is reported.
  const maxMinutes = quick ? 60 : Number(process.env.BENCH_LIVE_MINUTES ?? 20);
  let minute = 1;
  for (; running().length > 0 && minute < maxMinutes; minute++) {
    await clock.runUntil(start + (minute + 1) * MINUTE, busy);
    if (minute % 5 === 0) {
      const r = running()[0];
      log(
        `  live start: ${minute} simulated min, first passes left ${running().length} (${r?.resource}: ${r?.first_pass?.records_read}/${r?.first_pass?.total_entries})`,
      );
    }
  }
  const passDone = running().length === 0;
  const passMinutes = (clock.now() - start) / MINUTE;
  const views = poller.describe();
  const read = views.reduce((n, r) => n + (r.first_pass?.records_read ?? 0), 0);
  // Passes still queued do not know their totals yet: estimate from the records seeded.
  const requestsLeft = Math.ceil(Math.max(0, records - read) / PER_PAGE);
  // The pass's requests are the ones bounded above by the live start.
  const perMinute = sim.served.filter((s) => s.at > clock.now() - MINUTE && decodeURIComponent(s.search).includes('updated_at:<')).length;
  const status429 = sim.served.filter((s) => s.status === 429).length;
  const stopping = poller.stop();
  await clock.settle(busy);
  await stopping;
  await client.close();
  await sim.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });

  const firstS = deliveredAt === null ? null : (deliveredAt - start) / 1000;
  const blockingMin = Math.ceil(records / PER_PAGE) / (LIMIT * 0.9);
  const rows = [
    {
      records,
      'first change delivered after start (simulated s)': firstS === null ? 'never' : firstS.toFixed(1),
      'while the first pass ran': passRunningThen ? 'yes' : 'no',
      target: '≤ 30 s',
      'first pass read everything after (simulated min)': passDone
        ? passMinutes.toFixed(0)
        : `${read} read in ${passMinutes.toFixed(0)}; ~${(passMinutes + requestsLeft / Math.max(1, perMinute)).toFixed(0)} at ${perMinute} req/min`,
      'blocking first pass before (lower bound, min)': `≥ ${blockingMin.toFixed(0)}`,
      '429s': status429,
      'wall s for the first simulated minute': firstWallS.toFixed(1),
    },
  ];
  table('6. Live from the first minute: a first start on a large account at 200 requests/min (simulated time)', rows);
  results.liveStart = rows;
}

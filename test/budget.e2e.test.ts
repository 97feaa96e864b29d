import { mkdtemp, rm } from 'node:fs/promises';
import { clinicSeed } from '../tools/simulator/clinic-seed.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/poller/clock.js';
import { Poller } from '../src/poller/poller.js';
import { ClinikoSimulator, type ServedInfo, type SimResource } from '../tools/simulator/index.js';
import { simulatorFeeds } from '../tools/simulator/feeds.js';
import { CLINIKO_RESOURCES } from '../src/sources/cliniko/resources.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { USER_AGENT } from './helpers/harness.js';

/**
 * The issue's targets, measured against the simulator enforcing Cliniko's 200 requests/min with
 * every resource enabled: no 429 in steady state, and a change to a hot resource detected within
 * 15 s at the median. Time is simulated (a ManualClock drives the simulator, the budget and the
 * scheduler), so 12 minutes of a clinic's day run in seconds; requests are real HTTP on loopback and
 * each takes 250 ms of simulated server time.
 */

const START = Date.parse('2026-11-23T00:00:00Z');
const WARM_UP_MS = 2 * 60_000;
const MEASURED_MS = 10 * 60_000;
const BURST_AT_MS = WARM_UP_MS + 5 * 60_000;
const BURST_RECORDS = 350;
const LIMIT = 200;
/** What a Cliniko request takes (simulated): detection latency includes it. */
const LATENCY_MS = 250;

const SEED = clinicSeed();

/** A deterministic PRNG for the change script (mulberry32). */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Change {
  key: string;
  at: number;
}

interface Run {
  latenciesMs: number[];
  served: ServedInfo[];
  perResourceStarts: Map<string, number[]>;
  burstDetectedMs: number | null;
  sources: ReturnType<Poller['describe']>;
  budgets: ReturnType<Poller['budgets']>;
  realMs: number;
  requests: number;
}

async function simulate(): Promise<Run> {
  const realStart = Date.now();
  const clock = new ManualClock(START);
  const sim = new ClinikoSimulator({
    rateLimitPerMin: LIMIT,
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    latencyMs: LATENCY_MS,
    seed: 7,
  });
  sim.seed(SEED);
  const { baseUrl } = await sim.listen();
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-budget-'));
  const store = new LowdbStore(dataDir);
  await store.load();
  const { client, feeds } = simulatorFeeds({ baseUrl, userAgent: USER_AGENT, rateLimitPerMin: LIMIT, clock });
  const nameToPath = new Map(CLINIKO_RESOURCES.map((r) => [r.name, r.path]));

  const pending = new Map<string, Change[]>();
  const latenciesMs: number[] = [];
  const burstIds = new Set<string>();
  let burstSeen = 0;
  let burstDetectedMs: number | null = null;
  const poller = new Poller({
    store,
    feeds,
    logger: pino({ level: 'silent' }),
    backfill: false,
    clock,
    onEvents: (ids) => {
      const now = clock.now();
      void Promise.all(ids.map((id) => store.getEvent(id))).then((events) => {
        for (const e of events) {
          const data = e!.payload.data;
          const key = `${nameToPath.get(data.resource)}:${data.id}`;
          if (burstIds.delete(key) && ++burstSeen === BURST_RECORDS) burstDetectedMs = now - START - BURST_AT_MS;
          const queue = pending.get(key);
          while (queue?.length && queue[0]!.at <= now) latenciesMs.push(now - queue.shift()!.at);
        }
      });
    },
  });

  // Busy while a request is on its way that is not parked on the simulated latency.
  const busy = async () => {
    await store.flush();
    return client.inFlight > sim.waiting;
  };

  // The clinic's day: a change to a hot resource every 2–8 s, now and then to a warm or cold one.
  const random = prng(42);
  const script: Array<{ at: number; run: () => void }> = [];
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const live = (resource: SimResource) => sim.all(resource).filter((r) => !r.deleted_at && !r.archived_at && !r.cancelled_at);
  const record = (path: string, id: string, at: number) => {
    const key = `${path}:${id}`;
    pending.set(key, [...(pending.get(key) ?? []), { key, at }]);
  };
  const hotChanges: Array<(at: number) => void> = [
    (at) => {
      const a = pick(live('individual_appointments'));
      const starts = Date.parse(String(a.starts_at)) + 86_400_000;
      sim.update('individual_appointments', a.id, {
        starts_at: new Date(starts).toISOString(),
        ends_at: new Date(starts + 1_800_000).toISOString(),
      });
      record('individual_appointments', a.id, at);
    },
    (at) => record('individual_appointments', sim.create('individual_appointments').id, at),
    (at) => {
      const a = pick(live('individual_appointments'));
      sim.cancel('individual_appointments', a.id, 40);
      record('individual_appointments', a.id, at);
    },
    (at) => {
      const p = pick(live('patients'));
      sim.update('patients', p.id, { notes: `Called at ${at}` });
      record('patients', p.id, at);
    },
    (at) => record('patients', sim.create('patients').id, at),
    (at) => {
      const a = pick(live('attendees'));
      sim.update('attendees', a.id, { arrived: true, notes: `at ${at}` });
      record('attendees', a.id, at);
    },
    (at) => {
      const i = pick(live('invoices'));
      sim.update('invoices', i.id, { status: 20, status_description: 'Paid', notes: `paid ${at}` });
      record('invoices', i.id, at);
    },
    (at) => record('invoices', sim.create('invoices').id, at),
    (at) => {
      const n = pick(live('treatment_notes'));
      sim.update('treatment_notes', n.id, { draft: false, title: `Reviewed ${at}` });
      record('treatment_notes', n.id, at);
    },
    (at) => {
      const g = pick(live('group_appointments'));
      sim.update('group_appointments', g.id, { notes: `Room ${at}` });
      record('group_appointments', g.id, at);
    },
  ];
  for (let t = START + WARM_UP_MS; t < START + WARM_UP_MS + MEASURED_MS; t += 2_000 + Math.floor(random() * 6_000)) {
    const at = t;
    if (random() < 0.85) script.push({ at, run: () => pick(hotChanges)(at) });
    else script.push({ at, run: () => void sim.randomChange() });
  }
  // A bulk import: 350 patients in one second, four pages in a burst, half-way through.
  script.push({
    at: START + BURST_AT_MS,
    run: () => {
      for (let i = 0; i < BURST_RECORDS; i++) burstIds.add(`patients:${sim.create('patients', { first_name: `Import${i}` }).id}`);
    },
  });
  poller.start('* * * * * *');
  await clock.runUntil(START + WARM_UP_MS + MEASURED_MS, busy, script);
  const sources = poller.describe();
  const budgets = poller.budgets();
  const stopping = poller.stop();
  await clock.settle(busy);
  await stopping;
  await client.close();
  await sim.close();
  await store.flush();
  await rm(dataDir, { recursive: true, force: true });

  const perResourceStarts = new Map<string, number[]>();
  for (const s of sim.served) {
    const resource = s.path.split('/')[2] ?? '';
    perResourceStarts.set(resource, [...(perResourceStarts.get(resource) ?? []), s.at]);
  }
  return {
    latenciesMs,
    served: sim.served,
    perResourceStarts,
    burstDetectedMs,
    sources,
    budgets,
    realMs: Date.now() - realStart,
    requests: sim.served.length,
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
};

/** Most requests started in any 60 s window. */
function maxPerMinute(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= 60_000) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

describe('the request budget with every resource enabled, against the simulator at 200/min', () => {
  let run: Run;
  beforeAll(async () => {
    run = await simulate();
    const tiers = new Map(run.sources.map((s) => [s.resource, s]));
    const byTier = (tier: string) => run.sources.filter((s) => s.tier === tier).map((s) => s.interval_ms ?? NaN);
    const figures = {
      realSeconds: run.realMs / 1000,
      simulatedMinutes: (WARM_UP_MS + MEASURED_MS) / 60_000,
      requests: run.requests,
      status429: run.served.filter((s) => s.status === 429).length,
      maxRequestsInAny60s: maxPerMinute(run.served.map((s) => s.at)),
      maxRequestsInAny60sSteady: maxPerMinute(run.served.filter((s) => s.at >= START + WARM_UP_MS).map((s) => s.at)),
      hotChanges: run.latenciesMs.length,
      hotLatencyMedianMs: median(run.latenciesMs),
      hotLatencyP90Ms: percentile(run.latenciesMs, 0.9),
      hotLatencyMaxMs: Math.max(...run.latenciesMs),
      burstOf350DetectedAfterMs: run.burstDetectedMs,
      achievedIntervalMs: { hot: median(byTier('hot')), warm: median(byTier('warm')), cold: median(byTier('cold')) },
      worstColdIntervalMs: Math.max(...byTier('cold')),
      patients: tiers.get('patients'),
      budgets: run.budgets,
    };
    console.log(`budget figures: ${JSON.stringify(figures, null, 2)}`);
    if (process.env.BUDGET_DEBUG) {
      const buckets = new Map<number, number>();
      for (const s of run.served)
        buckets.set(Math.floor((s.at - START) / 20_000), (buckets.get(Math.floor((s.at - START) / 20_000)) ?? 0) + 1);
      console.log([...buckets.entries()].map(([k, v]) => `${k * 20}s:${v}`).join(' '));
      const steady = run.served.filter((s) => s.at >= START + WARM_UP_MS).sort((a, b) => a.at - b.at);
      let best = 0;
      let bestLo = 0;
      for (let hi = 0, lo = 0; hi < steady.length; hi++) {
        while (steady[hi]!.at - steady[lo]!.at >= 60_000) lo++;
        if (hi - lo + 1 > best) [best, bestLo] = [hi - lo + 1, lo];
      }
      const window = steady.slice(bestLo, bestLo + best);
      const by = new Map<string, number>();
      for (const s of window) by.set(s.path.split('/').slice(2).join('/'), (by.get(s.path.split('/').slice(2).join('/')) ?? 0) + 1);
      const tierOf = new Map(CLINIKO_RESOURCES.map((r) => [r.path, r.tier]));
      for (const [from, to] of [
        [START + WARM_UP_MS, START + BURST_AT_MS],
        [START + BURST_AT_MS, START + BURST_AT_MS + 60_000],
        [START + BURST_AT_MS + 60_000, START + BURST_AT_MS + 120_000],
      ] as const) {
        const counts = { hot: 0, warm: 0, cold: 0 };
        for (const s of run.served) if (s.at >= from && s.at < to) counts[tierOf.get(s.path.split('/')[2]!)!] += 1;
        const minutes = (to - from) / 60_000;
        console.log(
          `${(from - START) / 1000}s–${(to - START) / 1000}s per minute: hot ${counts.hot / minutes} warm ${counts.warm / minutes} cold ${counts.cold / minutes}`,
        );
      }
      console.log(
        `max window from ${(window[0]!.at - START) / 1000}s: ${JSON.stringify(Object.fromEntries([...by].sort((a, b) => b[1] - a[1])))}`,
      );
    }
  }, 240_000);

  it('never gets a 429, and never starts more than the budget (limit minus 10 %) in any 60 s', () => {
    expect(run.served.filter((s) => s.status === 429)).toHaveLength(0);
    expect(maxPerMinute(run.served.map((s) => s.at))).toBeLessThanOrEqual(LIMIT * 0.9);
  });

  it('detects a change to a hot resource within 15 s at the median', () => {
    expect(run.latenciesMs.length).toBeGreaterThan(80);
    expect(median(run.latenciesMs)).toBeLessThanOrEqual(15_000);
  });

  it('polls hot first and never starves cold: every resource polled, cold ones at least every few minutes', () => {
    for (const r of CLINIKO_RESOURCES) {
      const starts = (run.perResourceStarts.get(r.path) ?? []).filter((t) => t >= START + WARM_UP_MS);
      expect(starts.length, r.path).toBeGreaterThan(0);
      // No silence longer than 6 minutes for anyone (cold plans ~2 min, overdue ones go regardless).
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      expect(Math.max(0, ...gaps), r.path).toBeLessThan(6 * 60_000);
    }
    const hot = run.sources.filter((s) => s.tier === 'hot').map((s) => s.interval_ms!);
    const cold = run.sources.filter((s) => s.tier === 'cold').map((s) => s.interval_ms!);
    expect(Math.max(...hot)).toBeLessThan(Math.min(...cold));
  });

  it('absorbs a burst of pages (a 350-patient import) without a 429, borrowing from cold', () => {
    expect(run.burstDetectedMs).not.toBeNull();
    expect(run.burstDetectedMs!).toBeLessThan(30_000);
    // The import's pages (and the overlap re-reading it for two minutes) take the budget cold
    // resources would have used in that minute; hot ones keep theirs and more.
    const tierOf = new Map(CLINIKO_RESOURCES.map((r) => [r.path, r.tier]));
    const perMinute = (tier: string, from: number, to: number) =>
      (run.served.filter((s) => s.at >= from && s.at < to && tierOf.get(s.path.split('/')[2]!) === tier).length * 60_000) / (to - from);
    const steady = [START + WARM_UP_MS, START + BURST_AT_MS] as const;
    const burst = [START + BURST_AT_MS, START + BURST_AT_MS + 60_000] as const;
    expect(perMinute('cold', ...burst)).toBeLessThanOrEqual(perMinute('cold', ...steady) / 2);
    expect(perMinute('hot', ...burst)).toBeGreaterThan(perMinute('hot', ...steady));
  });

  it('shows per resource: tier, interval achieved, next poll, requests in the last minute, last error', () => {
    const patients = run.sources.find((s) => s.resource === 'patients')!;
    expect(patients).toMatchObject({ tier: 'hot', status: 'ok', interval_ms: expect.any(Number), next_poll_at: expect.any(String) });
    expect(patients.requests_last_minute).toBeGreaterThan(0);
    expect(patients.state?.last_error).toBeNull();
    expect(run.budgets).toEqual([{ source: 'cliniko', limit_per_min: 200, budget_per_min: 180, used_last_minute: expect.any(Number) }]);
  });
});

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { startBridge, type Bridge } from '../src/bridge.js';
import { loadConfig } from '../src/config/index.js';
import { metrics } from '../src/metrics.js';
import type { LowdbStore } from '../src/store/lowdb-store.js';
import { CLINIKO_RESOURCES } from '../src/sources/cliniko/resources.js';
import { simulatorFeeds } from '../tools/simulator/feeds.js';
import { ask, child, stopChild } from './child.js';
import type { BenchContext } from './live-start.js';

/**
 * Issue "Large clinics on the embedded store", the two figures that need a large account to poll:
 * the idle incremental cycle at 10k vs 1M records, and the initial sync of 1M records through a real
 * bridge. The account is individual appointments (≈ 1.4 KB of JSON each) generated on demand by the
 * simulator in its own process (`bench/sim-server.ts --generated`), so the simulator holds no
 * records and the bridge's CPU is measured apart from the serving.
 *
 * The request budget must not be the limit: Cliniko allows 200 requests/min, and a first start
 * reads existing records in a background first pass paced to the budget's spare room. The bench
 * raises the simulator's limit and the bridge's budget to {@link BENCH_RATE_LIMIT_PER_MIN}. The
 * bridge's `CLINIKO_RATE_LIMIT_PER_MIN` accepts at most 10,000 (≈ 150 pages/s after headroom, below
 * the 200 pages/s that 20,000 records/s needs), so the bench sets the loaded configuration's value
 * directly; everything else is the configuration a deployment loads.
 *
 * `BENCH_RECORDS` sets the large size (default 1,000,000). `BENCH_PROFILE=<dir>` writes a CPU profile
 * of the measured part (the idle cycles, the sync) of the bridge's process there, for Chrome DevTools.
 */
export const BENCH_RATE_LIMIT_PER_MIN = 1_000_000;
const RESOURCE = 'individual_appointments';
const ADMIN = 'bench-admin-token-0123456789';
/** Idle cycles measured after one unmeasured warm-up cycle; the median is reported. */
const CYCLES = 15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

function largeSize(quick: boolean): number {
  const raw = process.env.BENCH_RECORDS;
  if (raw === undefined || raw === '') return quick ? 100_000 : 1_000_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_RECORDS must be a whole number of records (got "${raw}")`);
  return n;
}

/** Runs `run` and counts the milliseconds this process spent in garbage collection meanwhile. */
async function gcMsDuring<T>(run: () => Promise<T>): Promise<{ value: T; gcMs: number }> {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    const value = await run();
    // GC entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    return { value, gcMs };
  } finally {
    observer.disconnect();
  }
}

/** Runs `run` under the V8 sampling profiler when `BENCH_PROFILE` names a directory. */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

interface Setup {
  proc: ChildProcess;
  baseUrl: string;
  bridge: Bridge;
  store: LowdbStore;
  dir: string;
}

/** A generated account of `size` appointments in its own process and a bridge against it, before its first poll. */
async function setUp(size: number): Promise<Setup> {
  const { proc, info } = await child<{ baseUrl: string }>(
    'sim-server.ts',
    String(size),
    '--generated',
    RESOURCE,
    '--rate-limit',
    String(BENCH_RATE_LIMIT_PER_MIN),
  );
  const dir = await mkdtemp(join(tmpdir(), 'bench-large-'));
  const config = loadConfig({
    CLINIKO_API_KEY: 'sim-key-au1',
    CLINIKO_USER_AGENT: 'Bench (bench@example.com)',
    CLINIKO_BASE_URL: info.baseUrl,
    BRIDGE_RESOURCES: RESOURCE,
    BRIDGE_ADMIN_TOKEN: ADMIN,
    BRIDGE_DATA_DIR: dir,
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  // Above what CLINIKO_RATE_LIMIT_PER_MIN accepts (see the module comment).
  config.cliniko!.rateLimitPerMin = BENCH_RATE_LIMIT_PER_MIN;
  const bridge = await startBridge(config, { logger: pino({ level: 'silent' }), schedule: false });
  return { proc, baseUrl: info.baseUrl, bridge, store: bridge.store as LowdbStore, dir };
}

async function tearDown({ proc, bridge, dir }: Setup): Promise<void> {
  await bridge.stop();
  await stopChild(proc);
  await rm(dir, { recursive: true, force: true });
}

/** The first poll of a first start: the live start, then the whole first pass. Throws unless every record was read. */
async function firstSync(setup: Setup, size: number, log: (line: string) => void) {
  const { bridge, store } = setup;
  const readSoFar = () => bridge.poller.describe()[0]?.first_pass?.records_read ?? 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const simCpu0 = await ask<number>(setup.proc, 'cpu');
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
  const progress = setInterval(() => {
    const n = readSoFar();
    log(`  sync: ${n} / ${size} records, ${((n / (performance.now() - t0)) * 1000).toFixed(0)}/s, load ${load()}`);
  }, 15_000);
  const { gcMs } = await profiled(`sync-${size}`, () =>
    gcMsDuring(async () => {
      await bridge.poller.pollNow();
      await store.flush();
    }),
  ).finally(() => {
    clearInterval(sample);
    clearInterval(progress);
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const simCpuMs = (await ask<number>(setup.proc, 'cpu')) - simCpu0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const read = readSoFar();
  if (read !== size) throw new Error(`the first pass read ${read} of ${size} records`);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, simCpuMs, peakRss, gcMs };
}

/**
 * Idle incremental cycle at 10k and the large size: after the first sync, each manual poll of an
 * unchanged account (two requests: changes and deletions) — bridge CPU and wall per cycle, and
 * whether anything was written.
 */
export async function idleCycle({ quick, table, log, results }: BenchContext): Promise<void> {
  const sizes = [quick ? 1_000 : 10_000, largeSize(quick)];
  const rows: Array<Record<string, string | number>> = [];
  for (const size of sizes) {
    const setup = await setUp(size);
    const { bridge, store, proc } = setup;
    log(`  idle: syncing ${size} records first…`);
    const sync = await firstSync(setup, size, log);
    log(`  idle: synced ${size} in ${(sync.wallMs / 1000).toFixed(1)} s; measuring ${CYCLES} idle cycles (load ${load()})`);
    const requests: number[] = [];
    const cpu: number[] = [];
    const wall: number[] = [];
    let lines = 0;
    // The sync's last checkpoint and its garbage are done with now, not inside a measured cycle;
    // the first cycle warms up.
    await store.checkpoint();
    (globalThis as { gc?: () => void }).gc?.();
    await bridge.poller.pollNow();
    const gc: number[] = [];
    const loadBefore = load();
    await profiled(`idle-${size}`, async () => {
      for (let i = 0; i < CYCLES; i++) {
        const servedBefore = await ask<number>(proc, 'count');
        const commits = store.stats.commits;
        const { gcMs } = await gcMsDuring(async () => {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await bridge.poller.pollNow();
          await store.flush();
          wall.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        });
        gc.push(gcMs);
        requests.push((await ask<number>(proc, 'count')) - servedBefore);
        lines += store.stats.commits - commits;
      }
    });
    rows.push({
      records: size,
      'requests/cycle': median(requests),
      'bridge CPU ms/cycle (median)': median(cpu).toFixed(1),
      'bridge CPU ms (min–max)': `${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)}`,
      'wall ms/cycle (median)': median(wall).toFixed(1),
      'GC ms/cycle (median, max)': `${median(gc).toFixed(1)}, ${Math.max(...gc).toFixed(1)}`,
      'heap used MB': (process.memoryUsage().heapUsed / 1048576).toFixed(0),
      'journal lines/cycle': (lines / CYCLES).toFixed(1),
      'RSS MB': (process.memoryUsage().rss / 1048576).toFixed(0),
      'load avg 1/5/15 min': loadBefore,
    });
    await tearDown(setup);
  }
  const [small, large] = rows;
  const ratio = Number(large!['bridge CPU ms/cycle (median)']) / Number(small!['bridge CPU ms/cycle (median)']);
  table(
    `1. Idle incremental cycle, ${sizes.join(' vs ')} records (generated simulator in its own process; target flat, ≤ 1.5×: ${ratio.toFixed(2)}×)`,
    rows,
  );
  results.idleCycle = { rows, cpuRatio: Number(ratio.toFixed(2)) };
}

/**
 * Initial sync of the large account through a real bridge (first start: live start, then the
 * background first pass with the budget raised out of the way): records/s, the bridge's CPU, the
 * simulator's CPU, peak RSS, and the store's journal lines (one fsync each), checkpoints and mean
 * commit time. A second row reads the same account through the bridge's Cliniko client and feed
 * alone (no store): the CPU that reading costs, under any store.
 */
export async function largeSync({ quick, table, log, results }: BenchContext): Promise<void> {
  const size = largeSize(quick);
  const setup = await setUp(size);
  const { store } = setup;
  const commitsBefore = (await metrics.storeCommit.get()).values;
  const countOf = (values: typeof commitsBefore, name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  const loadBefore = load();
  log(`  sync: ${size} records, load ${loadBefore}`);
  const sync = await firstSync(setup, size, log);
  const after = (await metrics.storeCommit.get()).values;
  const commitCount = countOf(after, 'bridge_store_commit_seconds_count') - countOf(commitsBefore, 'bridge_store_commit_seconds_count');
  const commitSum = countOf(after, 'bridge_store_commit_seconds_sum') - countOf(commitsBefore, 'bridge_store_commit_seconds_sum');
  const rows = [
    {
      ...rateColumns(size, sync),
      'bridge GC s': (sync.gcMs / 1000).toFixed(1),
      'simulator CPU s': (sync.simCpuMs / 1000).toFixed(1),
      'peak RSS MB': (sync.peakRss / 1048576).toFixed(0),
      'journal lines (fsyncs)': store.stats.commits,
      'mean commit ms': commitCount > 0 ? ((commitSum / commitCount) * 1000).toFixed(1) : '-',
      checkpoints: store.stats.checkpoints,
      'load avg before': loadBefore,
      'load avg after': load(),
      target: '≥ 20000 records/s',
    },
  ];
  // The floor under that figure: the same pages read by the bridge's own Cliniko client and feed,
  // with no store (no diff, no snapshot, no journal): what reading alone costs the bridge's CPU.
  const read = await readOnly(setup, size);
  rows.push({
    ...rows[0]!,
    ...rateColumns(size, read),
    'bridge GC s': '-',
    'simulator CPU s': (read.simCpuMs / 1000).toFixed(1),
    'peak RSS MB': '-',
    'journal lines (fsyncs)': 0,
    'mean commit ms': 'read only: client and feed, no store',
    checkpoints: 0,
    'load avg after': load(),
  });
  table('2. Initial sync through a real bridge (first start, budget raised; generated simulator in its own process)', rows);
  results.largeSync = rows;
  await tearDown(setup);
}

/** The rate columns of a sync table row: `size` records in `wallMs`, costing the bridge `cpuMs`. */
function rateColumns(size: number, { wallMs, cpuMs }: { wallMs: number; cpuMs: number }) {
  return {
    records: size,
    'wall s': (wallMs / 1000).toFixed(1),
    'records/s': Math.round((size / wallMs) * 1000),
    'bridge CPU s': (cpuMs / 1000).toFixed(1),
    'bridge CPU µs/record': ((cpuMs * 1000) / size).toFixed(0),
    'records/s per bridge CPU s': Math.round(size / (cpuMs / 1000)),
  };
}

/** Reads the whole account as the first pass does (client, feed, keyset pages) and drops the records. */
async function readOnly(setup: Setup, size: number): Promise<{ wallMs: number; cpuMs: number; simCpuMs: number }> {
  const { feeds } = simulatorFeeds({
    baseUrl: setup.baseUrl,
    userAgent: 'Bench (bench@example.com)',
    rateLimitPerMin: BENCH_RATE_LIMIT_PER_MIN,
    resources: CLINIKO_RESOURCES.filter((r) => r.path === RESOURCE),
  });
  const before = new Date(Date.now() + 86_400_000).toISOString();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const simCpu0 = await ask<number>(setup.proc, 'cpu');
  let n = 0;
  for await (const page of feeds[0]!.live!.readExisting(null, before, { priority: 0 })) n += page.records.length;
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const simCpuMs = (await ask<number>(setup.proc, 'cpu')) - simCpu0;
  if (n !== size) throw new Error(`the read-only pass read ${n} of ${size} records`);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, simCpuMs };
}

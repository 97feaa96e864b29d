import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { Dispatcher } from '../src/delivery/dispatcher.js';
import { Sender } from '../src/delivery/sender.js';
import { UrlPolicy } from '../src/delivery/ssrf.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { withSubscriptionDefaults, type StoredEvent } from '../src/store/schema.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { newId } from '../src/util/ids.js';
import { deliveredDelivery } from './fixtures.js';
import { child } from './child.js';
import { idleCycle, largeSync } from './large-account.js';
import { liveStart } from './live-start.js';

/**
 * `npm run bench`: the benchmarks of the store and poller issues. Prints a table per benchmark with
 * the machine and its load average, and writes bench/results.json. Loopback only.
 * `BENCH_ONLY=idle,sync,delivery,memory,scale,live` runs a subset (`idle`, `sync`: bench/large-account.ts,
 * `live`: bench/live-start.ts; `poll` is the old name of `idle`); `BENCH_QUICK=1` uses smaller sizes;
 * `BENCH_RECORDS` sets the large account of `idle` and `sync` (default 1,000,000).
 */
const quick = process.env.BENCH_QUICK === '1';
const only = new Set(
  (process.env.BENCH_ONLY ?? 'idle,sync,delivery,memory,scale,live').split(',').map((name) => (name === 'poll' ? 'idle' : name)),
);
const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: process.platform,
  date: new Date().toISOString(),
};
const results: Record<string, unknown> = { machine };
const log = (line: string) => process.stdout.write(`${line}\n`);
const silent = pino({ level: 'silent' });

function table(title: string, rows: Array<Record<string, string | number>>): void {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  log(`\n${title}  (${machine.cpus} × ${machine.cpu}, Node ${machine.node}, load average ${load} at the end)`);
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  log(cols.map((c, i) => c.padEnd(width[i]!)).join('  '));
  for (const r of rows) log(cols.map((c, i) => String(r[c]).padEnd(width[i]!)).join('  '));
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function fakeEvent(objectTemplate: Record<string, unknown>, i: number, timestamp: string): StoredEvent {
  const id = newId('evt');
  return {
    payload: {
      id,
      type: 'patient.updated',
      timestamp,
      data: {
        source: 'cliniko',
        resource: 'patient',
        id: String(1e18 + i),
        object: { ...objectTemplate, id: String(1e18 + i) },
        previous_attributes: { notes: 'before' },
      },
    },
    dispatched: true,
  };
}

async function deliveryThroughput(): Promise<void> {
  const retainedSizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  const total = quick ? 5_000 : 20_000;
  const template = (() => {
    const sim = new ClinikoSimulator();
    sim.seed({ patients: 1 });
    return sim.all('patients')[0]!;
  })();
  const { proc, info } = await child<{ url: string }>('receiver.ts');
  const rows = [];
  for (const retained of retainedSizes) {
    for (const mode of ['burst', 'steady 2000/s'] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'bench-delivery-'));
      const store = new LowdbStore(dir);
      await store.load();
      await store.transaction((tx) => {
        tx.putSubscription(withSubscriptionDefaults({ id: 'sub_bench', url: info.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }));
        // Retained events spread over the 30-day retention window, as a running bridge holds them.
        for (let i = 0; i < retained; i++) {
          const old = new Date(Date.now() - 3_600_000 - Math.floor((i / retained) * 30 * 86_400_000)).toISOString();
          const e = { ...fakeEvent(template, i, old), dispatched: true };
          tx.appendEvents([e]);
          tx.putDelivery({
            id: newId('dlv'),
            event_id: e.payload.id,
            subscription_id: 'sub_bench',
            status: 'succeeded',
            trigger: 'dispatch',
            attempt_count: 1,
            next_attempt_at: null,
            final_attempt: false,
            created_at: old,
            updated_at: old,
            attempts: [],
          });
        }
      });
      await store.checkpoint();
      const sender = new Sender({
        timeoutMs: 15_000,
        connectionsPerOrigin: 32,
        policy: new UrlPolicy({ allowPrivate: true }),
        userAgent: 'bench',
      });
      const worker = new DeliveryWorker({
        store,
        sender,
        logger: silent,
        retryScheduleMs: [5_000],
        disableAfterMs: 86_400_000,
        concurrency: 32,
      });
      await worker.start();
      const dispatcher = new Dispatcher(store, (d) => worker.enqueue(d));
      const created: string[] = [];
      const t0 = performance.now();
      const batch = 200;
      const perBatchMs = mode === 'burst' ? 0 : (batch / 2000) * 1000;
      for (let sent = 0; sent < total; sent += batch) {
        const now = new Date().toISOString();
        const events = Array.from({ length: batch }, (_, i) => ({ ...fakeEvent(template, retained + sent + i, now), dispatched: false }));
        await store.transaction((tx) => tx.appendEvents(events));
        void dispatcher.dispatch(events.map((e) => e.payload.id));
        created.push(...events.map((e) => e.payload.id));
        if (perBatchMs) await new Promise((r) => setTimeout(r, Math.max(0, t0 + ((sent + batch) / 2000) * 1000 - performance.now())));
      }
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (worker.pendingCount() === 0) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      const ms = performance.now() - t0;
      await store.flush();
      const latencies: number[] = [];
      const createdSet = new Set(created);
      const dump = await store.dump();
      const byId = new Map(dump.events.map((e) => [e.payload.id, e]));
      for (const d of Object.values(dump.deliveries)) {
        if (!createdSet.has(d.event_id)) continue;
        const a = d.attempts.at(-1)!;
        const event = byId.get(d.event_id)!;
        latencies.push(Date.parse(a.attempted_at) + a.duration_ms - Date.parse(event.payload.timestamp));
      }
      rows.push({
        retained,
        mode,
        deliveries: latencies.length,
        'deliveries/s': Math.round((latencies.length / ms) * 1000),
        'p50 ms': percentile(latencies, 0.5),
        'p99 ms': percentile(latencies, 0.99),
        'journal lines': store.stats.commits,
      });
      await worker.stop();
      await sender.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  proc.kill('SIGTERM');
  table(
    `3. Delivery throughput: ${total} events to a loopback 204 receiver, every attempt persisted (target ≥ 2000/s, p99 < 1 s at 100k retained)`,
    rows,
  );
  results.delivery = rows;
}

async function memory(): Promise<void> {
  const size = quick ? 20_000 : 100_000;
  const sim = new ClinikoSimulator();
  sim.seed({ patients: 1 });
  const template = sim.all('patients')[0]!;
  await sim.close();
  const dir = await mkdtemp(join(tmpdir(), 'bench-memory-'));
  const store = new LowdbStore(dir);
  await store.load();
  const ts = new Date().toISOString();
  for (let i = 0; i < size; i++) {
    const e = fakeEvent(template, i, ts);
    await store.transaction((tx) => {
      tx.appendEvents([e]);
      tx.putDelivery(deliveredDelivery(e.payload.id, 'sub_x', ts));
      tx.putSnapshot('cliniko:patients', String(1e18 + i), { version: ts, record: { ...template, id: String(1e18 + i) } });
    });
  }
  await store.close();
  // Measured in a fresh process that only loads the store, as a restarted bridge would.
  const { info } = await child<{ rssMb: number; heapMb: number; baselineMb: number; loadMs: number }>('load-store.ts', dir);
  const rows = [
    {
      events: size,
      snapshots: size,
      deliveries: size,
      'RSS MB': info.rssMb.toFixed(0),
      'heap MB': info.heapMb.toFixed(0),
      'empty process RSS MB': info.baselineMb.toFixed(0),
      'load ms': info.loadMs.toFixed(0),
      target: '< 300 MB',
    },
  ];
  table('4. Memory of a process holding the loaded store', rows);
  results.memory = rows;
  await rm(dir, { recursive: true, force: true });
}

/** Runs one `bench/store-scale.ts` step in a fresh process (with --expose-gc) and returns its JSON. */
async function scaleStep<T>(...args: string[]): Promise<T> {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join('bench', 'store-scale.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) throw new Error(`store-scale ${args[0]} exited with ${code}`);
  return JSON.parse(text.trim().split('\n').pop()!) as T;
}

/**
 * The store at a large clinic's size (issue "Large clinics on the embedded store"): snapshots of
 * appointment-sized records written as a first pass writes them, then a restart, a checkpoint after
 * 100 changes, and 100k retained events with their deliveries on top, each in a fresh process.
 */
async function scale(): Promise<void> {
  const sizes = quick ? [10_000, 100_000] : [10_000, 1_000_000];
  const sim = new ClinikoSimulator();
  sim.seed({ individual_appointments: 1 });
  const template = sim.all('individual_appointments')[0]!;
  await sim.close();
  const event = {
    id: 'evt_x',
    type: 'individual_appointment.updated',
    timestamp: '',
    data: { source: 'cliniko', resource: 'individual_appointment', id: '1', object: template },
  };
  const rows: Array<Record<string, string | number>> = [];
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-scale-'));
    log(`  scale: writing ${size} records of ${JSON.stringify(template).length} bytes…`);
    const fill = await scaleStep<{ recordsPerS: number; largestFileBytes: number }>('fill', dir, String(size), JSON.stringify(template));
    const restart = await scaleStep<{ loadMs: number; rssMb: number; baselineMb: number; rssAfterReadsMb: number; read1000Ms: number }>(
      'restart',
      dir,
    );
    const cp = await scaleStep<{ checkpointMs: number; bytesWritten: number }>('checkpoint', dir, String(size));
    const events = await scaleStep<{ largestFileBytes: number }>('events', dir, String(quick ? 20_000 : 100_000), JSON.stringify(event));
    const withEvents = await scaleStep<{ rssMb: number; loadMs: number }>('restart', dir);
    rows.push({
      records: size,
      'store write records/s': Math.round(fill.recordsPerS),
      'restart load ms': Math.round(restart.loadMs),
      'RSS after restart MB': restart.rssMb.toFixed(0),
      'RSS after 1k random reads MB': restart.rssAfterReadsMb.toFixed(0),
      '1k random reads ms': Math.round(restart.read1000Ms),
      'checkpoint after 100 changes ms': Math.round(cp.checkpointMs),
      'checkpoint bytes': cp.bytesWritten,
      [`RSS with ${quick ? '20k' : '100k'} events + deliveries MB`]: withEvents.rssMb.toFixed(0),
      'restart with events ms': Math.round(withEvents.loadMs),
      'largest file MiB': (Math.max(fill.largestFileBytes, events.largestFileBytes) / 1048576).toFixed(1),
    });
    await rm(dir, { recursive: true, force: true });
  }
  table(
    '5. The store at scale: appointment-sized snapshots, restart, checkpoint after 100 changes, retained events (each step in a fresh process)',
    rows,
  );
  results.scale = rows;
}

const context = { quick, table, log, results };
const benchmarks: Record<string, () => Promise<void>> = {
  idle: () => idleCycle(context),
  sync: () => largeSync(context),
  delivery: deliveryThroughput,
  memory,
  scale,
  live: () => liveStart(context),
};

if (process.env.BENCH_CHILD === '1') {
  // One benchmark in this process; the parent collects its figures.
  for (const name of only) await benchmarks[name]!();
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
  process.exit(0);
}

// Each benchmark runs in a fresh process, so one's heap does not weigh on the next's figures.
for (const name of Object.keys(benchmarks)) {
  if (!only.has(name)) continue;
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts'], {
    env: { ...process.env, BENCH_CHILD: '1', BENCH_ONLY: name },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.startsWith('RESULT ')) Object.assign(results, JSON.parse(line.slice(7)), { machine });
    else log(line);
  });
  const code = await new Promise<number>((resolve) => proc.once('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`benchmark ${name} failed with exit code ${code}`);
}
await writeFile(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
log('\nwrote bench/results.json');

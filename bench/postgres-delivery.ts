import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pgClient from 'pg';
import { pino } from 'pino';
import { Sender } from '../src/delivery/sender.js';
import { UrlPolicy } from '../src/delivery/ssrf.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults, type StoredEvent } from '../src/store/schema.js';
import { newId } from '../src/util/ids.js';
import { Receiver } from '../tools/demo/receiver.js';
import { pendingDelivery } from './fixtures.js';
import { sql, startPostgres } from '../test/helpers/postgres.js';

/**
 * Delivery throughput of 1, 2, 3 bridge processes (separate OS processes, each a `DeliveryWorker`
 * with concurrency 32 on its own `PostgresStore`) sharing one throwaway PostgreSQL 15 cluster, to a
 * loopback receiver in this process that verifies every signature (`standardwebhooks`) and answers 204.
 *
 *   node --import tsx bench/postgres-delivery.ts [pending=20000] [retained=100000] [processes=1,2,3]
 *
 * The schema holds `retained` delivered events (with their succeeded deliveries) before each run;
 * each run then commits `pending` new events with one pending delivery each, starts the processes'
 * workers together and times until every delivery succeeded. Every attempt is claimed and recorded in
 * the database. Prints one JSON line per process count, with the CPU seconds each bridge process,
 * the receiver (this process) and the PostgreSQL server used during the run, and per bridge process
 * the calls to the store's claim and record methods and to the receiver: how many, items, average ms.
 */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SCHEMA = 'bench';

if (process.argv[2] === '--child') await child(process.argv[3]!);
else await main();

/** One bridge process's delivery side: waits for 'go', delivers until told to stop, reports its RSS. */
async function child(url: string): Promise<void> {
  const instanceId = `bench-${process.pid}`;
  const store = await PostgresStore.open({ url, schema: SCHEMA, instanceId });
  const sender = new Sender({
    timeoutMs: 15_000,
    connectionsPerOrigin: 32,
    policy: new UrlPolicy({ allowPrivate: true }),
    userAgent: 'bench',
  });
  const calls: Record<string, Timing> = {};
  timed(calls, store.shared, 'claimDue', (_args, r) => r.claimed.length);
  timed(calls, store.shared, 'recordClaimed', (args) => (args[1] as unknown[]).length);
  timed(calls, store.shared, 'recordAttempts', (args) => (args[0] as unknown[]).length);
  timed(calls, sender, 'post', () => 1);
  let cpu0 = process.cpuUsage();
  const worker = new DeliveryWorker({
    store,
    sender,
    logger: pino({ level: 'silent' }),
    retryScheduleMs: [5_000],
    disableAfterMs: 86_400_000,
    concurrency: 32,
    instanceId,
  });
  process.on('message', (msg: string) => {
    if (msg === 'go') {
      cpu0 = process.cpuUsage();
      void worker.start();
    }
    if (msg === 'stop') {
      void (async () => {
        await worker.stop();
        const cpu = process.cpuUsage(cpu0);
        for (const t of Object.values(calls)) t.avg_ms = Math.round((t.avg_ms / t.calls) * 100) / 100;
        process.send!({
          rss_mb: Math.round(process.memoryUsage().rss / 1e6),
          cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
          calls,
        } satisfies ChildReport);
        await sender.close();
        await store.close();
        process.exit(0);
      })();
    }
  });
  process.send!('ready');
}

/** Calls of one method during a run: how many, items they carried, average duration (ms; a sum until reported). */
interface Timing {
  calls: number;
  items: number;
  avg_ms: number;
}

interface ChildReport {
  rss_mb: number;
  /** CPU seconds from 'go' to 'stop'. */
  cpu_s: number;
  calls: Record<string, Timing>;
}

/** Wraps `obj[name]` (an async method) to count its calls, the items `items` says each carried, and their time. */
function timed<O extends object, K extends keyof O>(
  into: Record<string, Timing>,
  obj: O,
  name: K,
  items: (args: unknown[], result: Awaited<ReturnType<Extract<O[K], (...a: never[]) => unknown>>>) => number,
): void {
  const f = (obj[name] as (...a: unknown[]) => Promise<never>).bind(obj);
  (obj as Record<K, unknown>)[name] = async (...args: unknown[]) => {
    const t0 = performance.now();
    const result = await f(...args);
    const t = (into[String(name)] ??= { calls: 0, items: 0, avg_ms: 0 });
    t.calls += 1;
    t.avg_ms += performance.now() - t0;
    t.items += items(args, result);
    return result;
  };
}

/**
 * CPU seconds the PostgreSQL server listening on `port` used so far: its postmaster with the
 * children it reaped, plus the children alive now (Linux /proc; null elsewhere).
 */
function postgresCpuSeconds(port: number): number | null {
  try {
    const hz = 100; // USER_HZ: clock ticks per second on Linux
    const stat = (pid: string) =>
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ');
    const master = readdirSync('/proc').find(
      (p) =>
        /^\d+$/.test(p) &&
        readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(`postgres -D`) &&
        readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(`-p ${port} `),
    );
    if (!master) return null;
    // Fields after the command: state ppid … utime(12) stime(13) cutime(14) cstime(15), 0-based from state.
    const m = stat(master);
    let ticks = Number(m[11]) + Number(m[12]) + Number(m[13]) + Number(m[14]);
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const f = stat(p);
        if (f[1] === master) ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // exited meanwhile: its time is in the postmaster's cutime now
      }
    }
    return ticks / hz;
  } catch {
    return null;
  }
}

function event(i: number, at: string): StoredEvent {
  return {
    payload: {
      id: newId('evt'),
      type: 'patient.updated',
      timestamp: at,
      data: {
        source: 'cliniko',
        resource: 'patient',
        id: String(i),
        object: { id: String(i), first_name: 'Bench', notes: 'x'.repeat(1200) },
      },
    },
    dispatched: true,
  };
}

async function main(): Promise<void> {
  const pending = Number(process.argv[2] ?? 20_000);
  const retained = Number(process.argv[3] ?? 100_000);
  const counts = (process.argv[4] ?? '1,2,3').split(',').map(Number);
  const pg = await startPostgres();
  const receiver = await new Receiver().start();
  receiver.secret = SECRET;
  try {
    const store = await PostgresStore.open({ url: pg.url, schema: SCHEMA, instanceId: 'bench-seed' });
    await store.transaction((tx) => tx.putSubscription(withSubscriptionDefaults({ id: 'sub_bench', url: receiver.url, secret: SECRET })));
    // Retained history, written in SQL: only its volume matters (the claim query must not scan it).
    const old = new Date(Date.now() - 86_400_000).toISOString();
    await sql(
      pg.url,
      `INSERT INTO ${SCHEMA}.events (id, type, resource, record_id, detected_at, dispatched, doc)
       SELECT 'evt_old' || lpad(i::text, 8, '0'), 'patient.updated', 'patient', 'old' || i, $1, true,
              json_build_object('id', 'evt_old' || lpad(i::text, 8, '0'), 'notes', repeat('x', 1200))::text
       FROM generate_series(1, $2) i`,
      [old, retained],
    );
    await sql(
      pg.url,
      `INSERT INTO ${SCHEMA}.deliveries (id, event_id, subscription_id, status, next_attempt_at, created_at, attempt_count, claimed_at, doc)
       SELECT 'dlv_old' || lpad(i::text, 8, '0'), 'evt_old' || lpad(i::text, 8, '0'), 'sub_bench', 'succeeded', NULL, $1, 1, now() - interval '1 day', '{}'
       FROM generate_series(1, $2) i`,
      [old, retained],
    );
    await sql(pg.url, `ANALYZE`);
    // One connection for polling: a connection a poll would cost the server a backend start each time.
    const poll = new pgClient.Client({ connectionString: pg.url });
    await poll.connect();
    for (const n of counts) {
      const at = new Date().toISOString();
      for (let done = 0; done < pending; done += 1000) {
        await store.transaction((tx) => {
          for (let i = done; i < Math.min(pending, done + 1000); i++) {
            const e = event(i, at);
            tx.appendEvents([e]);
            tx.putDelivery(pendingDelivery(e.payload.id, 'sub_bench', at));
          }
        });
      }
      const children: ChildProcess[] = [];
      await Promise.all(
        Array.from({ length: n }, () => {
          const c = fork(fileURLToPath(import.meta.url), ['--child', pg.url], {
            execArgv: [
              '--import',
              'tsx',
              ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
            ],
          });
          children.push(c);
          return new Promise<void>((resolve) => c.once('message', () => resolve()));
        }),
      );
      const received = receiver.received.length;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const pgCpu0 = postgresCpuSeconds(pg.port);
      for (const c of children) c.send('go');
      for (;;) {
        const { rows } = await poll.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.deliveries WHERE status = 'pending'`);
        if (Number(rows[0]!.n) === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ms = performance.now() - t0;
      const pgCpu1 = postgresCpuSeconds(pg.port);
      const receiverCpu = process.cpuUsage(cpu0);
      const reports = await Promise.all(
        children.map(
          (c) =>
            new Promise<ChildReport>((resolve) => {
              c.once('message', (m: ChildReport) => resolve(m));
              c.send('stop');
            }),
        ),
      );
      const got = receiver.received.slice(received);
      const ids = new Set(got.map((r) => r.payload.id));
      process.stdout.write(
        `${JSON.stringify({
          processes: n,
          deliveries: pending,
          retained_events: retained + counts.slice(0, counts.indexOf(n)).length * pending,
          ms: Math.round(ms),
          'deliveries/s': Math.round((pending / ms) * 1000),
          received: got.length,
          distinct: ids.size,
          verified: got.filter((r) => r.verified).length,
          rss_mb: reports.map((r) => r.rss_mb),
          // CPU seconds during the run of each bridge process, this process (the receiver, and the
          // bench's polling) and PostgreSQL: with the wall time they show where the machine went.
          cpu_s: reports.map((r) => r.cpu_s),
          receiver_cpu_s: Math.round((receiverCpu.user + receiverCpu.system) / 1e4) / 100,
          postgres_cpu_s: pgCpu0 === null || pgCpu1 === null ? null : Math.round((pgCpu1 - pgCpu0) * 100) / 100,
          calls: reports.map((r) => r.calls),
        })}\n`,
      );
    }
    await poll.end();
    await store.close();
  } finally {
    await receiver.close();
    await pg.stop();
  }
}

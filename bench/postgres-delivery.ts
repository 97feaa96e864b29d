import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Sender } from '../src/delivery/sender.js';
import { UrlPolicy } from '../src/delivery/ssrf.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults, type Delivery, type StoredEvent } from '../src/store/schema.js';
import { newId } from '../src/util/ids.js';
import { Receiver } from '../tools/demo/receiver.js';
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
 * the database. Prints one JSON line per process count.
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
    if (msg === 'go') void worker.start();
    if (msg === 'stop') {
      void (async () => {
        await worker.stop();
        const cpu = process.cpuUsage();
        process.send!({ rss_mb: Math.round(process.memoryUsage().rss / 1e6), cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100 });
        await sender.close();
        await store.close();
        process.exit(0);
      })();
    }
  });
  process.send!('ready');
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
    for (const n of counts) {
      const at = new Date().toISOString();
      for (let done = 0; done < pending; done += 1000) {
        await store.transaction((tx) => {
          for (let i = done; i < Math.min(pending, done + 1000); i++) {
            const e = event(i, at);
            tx.appendEvents([e]);
            const d: Delivery = {
              id: newId('dlv'),
              event_id: e.payload.id,
              subscription_id: 'sub_bench',
              status: 'pending',
              trigger: 'dispatch',
              attempt_count: 0,
              next_attempt_at: at,
              final_attempt: false,
              created_at: at,
              updated_at: at,
              attempts: [],
            };
            tx.putDelivery(d);
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
      for (const c of children) c.send('go');
      for (;;) {
        const [row] = await sql<{ n: string }>(pg.url, `SELECT count(*) AS n FROM ${SCHEMA}.deliveries WHERE status = 'pending'`);
        if (Number(row!.n) === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ms = performance.now() - t0;
      const reports = await Promise.all(
        children.map(
          (c) =>
            new Promise<{ rss_mb: number; cpu_s: number }>((resolve) => {
              c.once('message', (m: { rss_mb: number; cpu_s: number }) => resolve(m));
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
          // CPU seconds each process used (start-up included) and this process (the receiver): with
          // the wall time they show how much of the machine the run had.
          cpu_s: reports.map((r) => r.cpu_s),
          receiver_cpu_s: Math.round((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e4) / 100,
        })}\n`,
      );
    }
    await store.close();
  } finally {
    await receiver.close();
    await pg.stop();
  }
}

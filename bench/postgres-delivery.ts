import { pino } from 'pino';
import { Dispatcher } from '../src/delivery/dispatcher.js';
import { Sender } from '../src/delivery/sender.js';
import { UrlPolicy } from '../src/delivery/ssrf.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { Receiver } from '../tools/demo/receiver.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults, type StoredEvent } from '../src/store/schema.js';
import { newId } from '../src/util/ids.js';
import { startPostgres } from '../test/helpers/postgres.js';

/**
 * Delivery throughput of one bridge process on the PostgreSQL store (a throwaway PostgreSQL 15
 * cluster, loopback receiver answering 204): `node --import tsx bench/postgres-delivery.ts [events] [retained]`.
 * Every attempt is claimed and recorded in the database, as with several processes.
 */
const total = Number(process.argv[2] ?? 5_000);
const retained = Number(process.argv[3] ?? 10_000);
const silent = pino({ level: 'silent' });

const pg = await startPostgres();
try {
  const store = await PostgresStore.open({ url: pg.url, schema: 'bench', poolSize: 20, instanceId: 'bench' });
  const receiver = await new Receiver().start();
  const event = (i: number, at: string): StoredEvent => ({
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
    dispatched: false,
  });
  await store.transaction((tx) =>
    tx.putSubscription(withSubscriptionDefaults({ id: 'sub_bench', url: receiver.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })),
  );
  for (let done = 0; done < retained; done += 1000) {
    await store.transaction((tx) => {
      for (let i = done; i < Math.min(retained, done + 1000); i++) {
        const old = new Date(Date.now() - 3_600_000 - i * 1000).toISOString();
        const e = { ...event(i, old), dispatched: true };
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
  }
  receiver.secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
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
    instanceId: 'bench',
  });
  await worker.start();
  const dispatcher = new Dispatcher(store, (d) => worker.enqueue(d));
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += 200) {
    const events = Array.from({ length: 200 }, (_, i) => event(retained + sent + i, new Date().toISOString()));
    await store.transaction((tx) => tx.appendEvents(events));
    void dispatcher.dispatch(events.map((e) => e.payload.id));
  }
  while ((await store.counts()).deliveries.succeeded < retained + total) await new Promise((r) => setTimeout(r, 50));
  const ms = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ events: total, retained, ms: Math.round(ms), 'deliveries/s': Math.round((total / ms) * 1000), verified: receiver.received.filter((r) => r.verified).length, rss_mb: Math.round(process.memoryUsage().rss / 1e6) })}\n`,
  );
  await worker.stop();
  await sender.close();
  await receiver.close();
  await store.close();
} finally {
  await pg.stop();
}

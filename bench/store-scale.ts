import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LowdbStore } from '../src/store/lowdb-store.js';
import type { Snapshot, StoredEvent } from '../src/store/schema.js';
import { newId } from '../src/util/ids.js';
import { deliveredDelivery } from './fixtures.js';
import { EventIndex, type EventIndexEntry } from '../src/store/event-index.js';
import { DeliveryIndex } from '../src/store/delivery-index.js';

/**
 * One step of the store-at-scale benchmark, run in its own process so each figure is that of a
 * process that did only this (`bench/run.ts` section `scale`). Prints one JSON line.
 *
 *   fill DIR N RECORD_JSON       writes N snapshots in transactions of 100 (as a first pass does)
 *   restart DIR                  opens the store: load time and RSS, then reads 1,000 snapshots
 *   checkpoint DIR N             changes 100 random records of N, then times one checkpoint
 *   events DIR K EVENT_JSON      adds K events with a delivered delivery each (then `restart` measures)
 *   index-memory K objects|columnar
 *                                heap held by K events' and deliveries' listing indexes: one object per
 *                                entry with maps by id (version 3), or the columnar indexes the store keeps
 */
const [cmd, dir, a, b] = process.argv.slice(2) as [string, string, string?, string?];
const gc = (globalThis as { gc?: () => void }).gc;
const rssMb = () => {
  gc?.();
  return process.memoryUsage().rss / 1048576;
};
const idOf = (i: number) => String(1_000_000_000_000_000_000n + BigInt(i));
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function largestFile(): Promise<number> {
  let max = 0;
  for (const name of await readdir(dir)) max = Math.max(max, (await stat(join(dir, name))).size);
  return max;
}

if (cmd === 'fill') {
  const n = Number(a);
  const template = JSON.parse(b!) as Record<string, unknown>;
  const store = new LowdbStore(dir);
  await store.load();
  const t0 = performance.now();
  const version = new Date().toISOString();
  for (let i = 0; i < n; i += 100) {
    await store.transaction((tx) => {
      for (let j = i; j < Math.min(n, i + 100); j++) {
        const id = idOf(j);
        tx.putSnapshot('cliniko:individual_appointments', id, { version, record: { ...template, id } } as Snapshot);
      }
      tx.putResource('cliniko:individual_appointments', {
        cursor: { updated_at: version, page: i },
        last_poll_at: version,
        last_success_at: version,
        last_error: null,
      });
    });
  }
  await store.close();
  const ms = performance.now() - t0;
  out({
    records: n,
    ms,
    recordsPerS: (n / ms) * 1000,
    largestFileBytes: await largestFile(),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  });
} else if (cmd === 'restart') {
  const baseline = rssMb();
  const t0 = performance.now();
  const store = new LowdbStore(dir);
  await store.load();
  const loadMs = performance.now() - t0;
  const afterLoad = rssMb();
  const count = await store.countSnapshots('cliniko:individual_appointments');
  const ids = Array.from({ length: 1000 }, () => idOf(Math.floor(Math.random() * count)));
  const r0 = performance.now();
  const got = await store.getSnapshots('cliniko:individual_appointments', ids);
  const readMs = performance.now() - r0;
  out({
    count,
    loadMs,
    baselineMb: baseline,
    rssMb: afterLoad,
    rssAfterReadsMb: rssMb(),
    found: got.size,
    read1000Ms: readMs,
    memory: store.memory(),
  });
  await store.close();
} else if (cmd === 'checkpoint') {
  const n = Number(a);
  const store = new LowdbStore(dir);
  await store.load();
  const ids = Array.from({ length: 100 }, () => idOf(Math.floor(Math.random() * n)));
  const current = await store.getSnapshots('cliniko:individual_appointments', ids);
  await store.transaction((tx) => {
    for (const [id, s] of current)
      tx.putSnapshot('cliniko:individual_appointments', id, {
        version: new Date().toISOString(),
        record: { ...s.record, notes: `changed ${Date.now()}` },
      });
  });
  const t0 = performance.now();
  await store.checkpoint();
  const ms = performance.now() - t0;
  out({ records: n, changed: current.size, checkpointMs: ms, bytesWritten: store.lastCheckpointBytes });
  await store.close();
} else if (cmd === 'events') {
  const k = Number(a);
  const template = JSON.parse(b!) as StoredEvent['payload'];
  const store = new LowdbStore(dir);
  await store.load();
  const ts = new Date().toISOString();
  for (let i = 0; i < k; i += 500) {
    await store.transaction((tx) => {
      for (let j = i; j < Math.min(k, i + 500); j++) {
        const id = newId('evt');
        tx.appendEvents([{ payload: { ...template, id, timestamp: ts, data: { ...template.data, id: idOf(j) } }, dispatched: true }]);
        tx.putDelivery(deliveredDelivery(id, 'sub_bench', ts));
      }
    });
  }
  await store.close();
  out({ events: k, largestFileBytes: await largestFile() });
} else if (cmd === 'index-memory') {
  const k = Number(dir);
  const shape = a;
  const heap = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const ts = Date.now();
  // As a start reads them: JSON text parsed into fresh strings, as index bucket files are.
  const text = JSON.stringify(
    Array.from({ length: k }, (_, i) => [
      newId('evt'),
      ['individual_appointment.updated', '2026-12-02T06:00:00.000Z', 'individual_appointment', idOf(i)],
      newId('dlv'),
      'sub_01KBFZ3M0N6V8Q2W4E6R8T0Y2U',
      new Date(ts + i).toISOString(),
    ]),
  );
  const rows = () => JSON.parse(text) as Array<[string, EventIndexEntry, string, string, string]>;
  let keep: unknown;
  const before = heap();
  if (shape === 'objects') {
    // One object per event and per delivery, with maps by id and per event/subscription: the version 3 layout.
    const events: Array<{ id: string; type: string; timestamp: string; resource: string; record_id: string }> = [];
    const byId = new Map<string, (typeof events)[number]>();
    const deliveries: Record<string, unknown> = {};
    const byEvent = new Map<string, Set<string>>();
    const bySub = new Map<string, Set<string>>();
    for (const [id, [type, timestamp, resource, record_id], dId, sub, at] of rows()) {
      const meta = { id, type, timestamp, resource, record_id };
      events.push(meta);
      byId.set(id, meta);
      deliveries[dId] = {
        id: dId,
        event_id: id,
        subscription_id: sub,
        status: 'succeeded',
        trigger: 'dispatch',
        attempt_count: 1,
        next_attempt_at: null,
        final_attempt: false,
        created_at: at,
        updated_at: at,
        attempts: [],
      };
      byEvent.set(id, new Set([dId]));
      let s = bySub.get(sub);
      if (!s) bySub.set(sub, (s = new Set()));
      s.add(dId);
    }
    keep = [events, byId, deliveries, byEvent, bySub];
  } else {
    const events = new EventIndex();
    const deliveries = new DeliveryIndex();
    for (const [id, entry, dId, sub] of rows()) {
      events.set(id, entry);
      deliveries.set(dId, [events.canonical(id), sub, 'succeeded']);
    }
    keep = [events, deliveries];
  }
  out({ entries: k, shape, heapMb: (heap() - before) / 1048576, held: keep !== null });
}

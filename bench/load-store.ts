import { LowdbStore } from '../src/store/lowdb-store.js';

/** Loads a store in a fresh process and reports what a bridge holding it would use. */
const dir = process.argv[2]!;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const baseline = process.memoryUsage().rss;
const t0 = performance.now();
const store = new LowdbStore(dir);
await store.load();
const loadMs = performance.now() - t0;
gc?.();
const usage = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ rssMb: usage.rss / 1048576, heapMb: usage.heapUsed / 1048576, baselineMb: baseline / 1048576, loadMs, events: (await store.counts()).events })}\n`,
);
await store.close();

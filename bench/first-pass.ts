import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Poller } from '../src/poller/poller.js';
import { clinikoResource } from '../src/sources/cliniko/resources.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { simulatorFeeds } from '../tools/simulator/feeds.js';
import { child, stopChild } from './child.js';

/**
 * The first pass's own throughput: a first start on an account of N patients served by the
 * simulator in its own process (bench/sim-server.ts), the request budget raised so the pass is not
 * paced to the spare room, through the poller into the embedded store. Prints one JSON line:
 * records/s (wall), the bridge process's CPU, journal lines written.
 *
 *   node --import tsx bench/first-pass.ts [N=100000] [PAGES_AHEAD]
 */
const records = Number(process.argv[2] ?? 100_000);
const pagesAhead = process.argv[3] === undefined ? undefined : Number(process.argv[3]);

const { proc: sim, info } = await child<{ baseUrl: string }>('sim-server.ts', String(records));
const dir = await mkdtemp(join(tmpdir(), 'bench-first-pass-'));
const store = new LowdbStore(dir);
await store.load();
const { client, feeds } = simulatorFeeds({
  baseUrl: info.baseUrl,
  userAgent: 'Bench (bench@example.com)',
  // Far above what the pass can use: the pass is never paced to the budget's spare room.
  rateLimitPerMin: 10_000_000,
  requestTimeoutMs: 60_000,
  resources: [clinikoResource('patients')!],
});
const poller = new Poller({
  store,
  feeds,
  logger: pino({ level: 'silent' }),
  backfill: false,
  onEvents: () => undefined,
  ...(pagesAhead === undefined ? {} : { pagesAhead }),
});
const commitsBefore = store.stats.commits;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
// Resolves once the first pass's attempt ended: every record snapshotted.
await poller.pollNow();
await store.flush();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const read = poller.describe()[0]?.first_pass?.records_read ?? 0;
await poller.stop();
await client.close();
await store.close();
await stopChild(sim);
await rm(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    records: read,
    pagesAhead: pagesAhead ?? 'default',
    wallS: +(ms / 1000).toFixed(2),
    recordsPerS: Math.round((read / ms) * 1000),
    bridgeCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    recordsPerCpuS: Math.round(read / ((cpu.user + cpu.system) / 1e6)),
    journalLines: store.stats.commits - commitsBefore,
  })}\n`,
);

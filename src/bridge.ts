import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { Sender } from './delivery/sender.js';
import { UrlPolicy, type Resolve } from './delivery/ssrf.js';
import { DeliveryWorker } from './delivery/worker.js';
import { createAdminApp } from './http/app.js';
import { Poller } from './poller/poller.js';
import { PollerGroup } from './poller/group.js';
import { DEFAULT_PAGES_AHEAD } from './poller/page-writer.js';
import { createSources } from './sources/index.js';
import { verifySources } from './sources/verify.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { systemClock, type Clock } from './util/clock.js';
import { USER_AGENT, VERSION } from './version.js';

/** How often events left undispatched (a failed store write, later retried) are looked for. */
const DISPATCH_SWEEP_MS = 30_000;
/** After a dispatch could not be written (disk full), the undispatched events are tried again this soon. */
const DISPATCH_RETRY_MS = 5_000;

/** A running bridge: its admin URL, its parts (for tests and the demo), and a clean stop. */
export interface Bridge {
  /** e.g. `http://127.0.0.1:3000` */
  url: string;
  store: Store;
  poller: PollerGroup;
  worker: DeliveryWorker;
  /** The admin API: `app.routes` lists every route; `GET /openapi.json` describes them. */
  app: OpenAPIHono;
  /** Stops polling and sending, waits for work in flight, flushes the store, closes the server. */
  stop(): Promise<void>;
}

/** How long an idle kept-alive admin connection stays open (ms). */
const KEEP_ALIVE_MS = 65_000;
/** How long a stop waits for admin connections to go idle before it cuts them (ms). */
const CLOSE_GRACE_MS = 5_000;

/**
 * Resolves when `closed` (the server's `close()`) does: closes connections as they go idle, every
 * 50 ms, and all that remain after {@link CLOSE_GRACE_MS}.
 */
async function closeConnections(server: Server, closed: Promise<void>): Promise<void> {
  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - started > CLOSE_GRACE_MS) server.closeAllConnections();
    else server.closeIdleConnections();
  }, 50);
  server.closeIdleConnections();
  try {
    await closed;
  } finally {
    clearInterval(timer);
  }
}

export interface BridgeOptions {
  logger: Logger;
  /** Start the poll schedule (default true); tests drive `poller.pollNow()` themselves. */
  schedule?: boolean;
  /** DNS resolver of the SSRF guard, at subscription time and at send time (tests stub it). */
  resolve?: Resolve;
  /** The one clock the sources and pollers read (default the system clock). */
  clock?: Clock;
}

/**
 * Wires source → poller → store → dispatcher → delivery worker, and serves the admin API.
 * @throws CredentialsRejectedError if a source's key or token is refused (401) at start, and
 *   StoreCorruptError if the store file cannot be read; nothing is started then.
 */
export async function startBridge(config: Config, options: BridgeOptions): Promise<Bridge> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  // With PostgreSQL the store opens first: a Cliniko key's request budget is one budget over every
  // process sharing the database, the start-up credential check included.
  const early = config.bridge.database ? await openStore(config.bridge) : undefined;
  const sources = createSources(config, clock, early?.shared);
  try {
    await verifySources(sources, logger);
  } catch (err) {
    await early?.close();
    throw err;
  }
  const store = early ?? (await openStore(config.bridge));

  const policy = new UrlPolicy({
    allowPrivate: config.bridge.allowPrivateUrls,
    allowedCidrs: config.bridge.allowedCidrs,
    httpsOnly: config.bridge.httpsOnly,
    resolve: options.resolve,
  });
  const sender = new Sender({
    timeoutMs: config.bridge.deliveryTimeoutMs,
    connectionsPerOrigin: config.bridge.deliveryConcurrency,
    policy,
    userAgent: USER_AGENT,
  });
  const worker = new DeliveryWorker({
    store,
    sender,
    logger,
    retryScheduleMs: config.bridge.retryScheduleMs,
    disableAfterMs: config.bridge.disableAfterMs,
    concurrency: config.bridge.deliveryConcurrency,
    apiBase: { cliniko: config.cliniko?.baseUrl },
    instanceId: config.bridge.instanceId,
    claimTtlMs: config.bridge.deliveryTimeoutMs + 30_000,
  });
  const dispatcher = new Dispatcher(store, (deliveries) => worker.enqueue(deliveries));
  let retry: NodeJS.Timeout | null = null;
  const dispatchFailed = (err: unknown) => {
    logger.error({ err }, 'dispatch failed; retried shortly');
    retry ??= setTimeout(() => {
      retry = null;
      dispatcher.dispatchPending().catch(dispatchFailed);
    }, DISPATCH_RETRY_MS);
    retry.unref();
  };
  const dispatch = (ids: readonly string[]) => {
    dispatcher.dispatch(ids).catch(dispatchFailed);
  };

  const poller = new PollerGroup(
    sources.map(
      (source) =>
        new Poller({
          store,
          feeds: source.feeds,
          // Every poller log line names its source already.
          logger,
          backfill: config.bridge.backfill,
          maxCatchUpMs: config.bridge.maxCatchUpMs,
          snapshotHashKey: config.bridge.snapshotHashKey,
          onEvents: dispatch,
          instanceId: config.bridge.instanceId,
          clock,
          // PostgreSQL commits concurrent transactions in any order: a page is durable before the next.
          pagesAhead: config.bridge.database ? 1 : DEFAULT_PAGES_AHEAD,
        }),
    ),
  );

  await poller.restore();

  // Retention: hourly, and once now, drop delivered events older than BRIDGE_RETENTION_DAYS.
  const runCompaction = async () => {
    const cutoff = new Date(Date.now() - config.bridge.retentionDays * 86_400_000).toISOString();
    const dropped = await store.compact(cutoff);
    if (dropped.events > 0) logger.info(dropped, 'retention: dropped delivered events');
  };
  const compaction = new Cron('23 * * * *', { protect: true, catch: (err) => logger.error({ err }, 'compaction failed') }, runCompaction);
  await runCompaction();

  // Events a crash left undispatched, and deliveries still pending, resume first. Later, a sweep
  // picks up events whose commit failed at first and succeeded on a later write.
  const dispatchPending = () => {
    dispatcher.dispatchPending().catch(dispatchFailed);
  };
  await dispatcher.dispatchPending().catch(dispatchFailed);
  await worker.start();
  const sweep = setInterval(dispatchPending, DISPATCH_SWEEP_MS);
  sweep.unref();

  const app = createAdminApp({
    sourceActions: sources.flatMap((s) => (s.actions ? [{ name: s.name, app: s.actions }] : [])),
    store,
    dispatcher,
    worker,
    poller,
    logger,
    adminToken: config.bridge.adminToken,
    rateLimitPerMin: config.http.rateLimitPerMin,
    policy,
    version: VERSION,
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }, () => resolve(s));
    s.once('error', reject);
  });
  // Longer than load balancers' and HTTP clients' idle timeouts (60 s is AWS ALB's default): a server
  // that drops a kept-alive connection first races a client sending on it, which sees ECONNRESET.
  (server as Server).keepAliveTimeout = KEEP_ALIVE_MS;
  // Node also cuts a connection whose next request's headers take longer than this (default 60 s).
  (server as Server).headersTimeout = KEEP_ALIVE_MS + 1_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  if (options.schedule !== false) {
    sources.forEach((source, i) => poller.pollers[i]!.start(source.pollCron));
    void poller.pollNow();
  }
  logger.info(
    {
      url,
      docs: `${url}/docs`,
      sources: sources.map((s) => ({ name: s.name, resources: s.feeds.map((f) => f.resource) })),
      store: store.location,
    },
    'bridge started',
  );

  let stopping: Promise<void> | null = null;
  return {
    url,
    store,
    poller,
    worker,
    app,
    stop: () =>
      (stopping ??= (async () => {
        // 1. No new admin requests; those in flight finish (each awaits its own commit).
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        (server as Server).closeIdleConnections();
        // 2. No new polls or attempts; attempts in flight finish (each bounded by its timeout).
        compaction.stop();
        clearInterval(sweep);
        if (retry) clearTimeout(retry);
        await poller.stop();
        await worker.stop();
        // Another process sharing the store takes these resources over at once, not after the lease expires.
        await store.shared?.releaseLeases(config.bridge.instanceId).catch(() => undefined);
        // Connections whose last request finished after `close()` are idle now; a client that keeps
        // one open without sending is cut after a grace period rather than holding the stop.
        await closeConnections(server as Server, closed);
        // 3. Everything recorded is committed and checkpointed.
        await store.close();
        await Promise.all([...sources.map((s) => s.close()), sender.close()]);
      })()),
  };
}

import { hostname } from 'node:os';
import pg from 'pg';
import { metrics } from '../../metrics.js';
import { plainCodec, type Codec } from '../codec.js';
import { StoreKeyError } from '../encryption.js';
import type { Delivery, Snapshot } from '../schema.js';
import type { Store, StoreCounts, StoreHealth, StoreTx } from '../store.js';
import { migrate, SCHEMA_NAME } from './migrate.js';
import { PgReader, type Run } from './reader.js';
import { deliveriesChannel, deliveriesPayload, PgShared } from './shared.js';
import * as tables from './tables.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; TLS through its `sslmode`, `sslrootcert`, `sslcert`, `sslkey` parameters. */
  url: string;
  /** Schema holding the bridge's tables (`BRIDGE_DATABASE_SCHEMA`), created if missing. */
  schema?: string;
  /** Encryption of every `doc` column (`BRIDGE_ENCRYPTION_KEY`); plain JSON by default. */
  codec?: Codec;
  /** Connections in the pool. */
  poolSize?: number;
  /** This process among those sharing the database (`BRIDGE_INSTANCE_ID`); default `host:pid`. */
  instanceId?: string;
  /** How often the database is probed while nothing is written, so `health()` notices an outage (ms). */
  probeIntervalMs?: number;
}

/** A value the store writes at first start and reads back at every start: the wrong key fails there, clearly. */
const KEY_CHECK = 'clinic-event-bridge';

/** SQLSTATE classes and codes that mean the database, not the statement, failed. */
const CONNECTION_STATES = /^(08|57P0[1-4]|53)/;

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (
    typeof e.code === 'string' &&
    (CONNECTION_STATES.test(e.code) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTFOUND)$/.test(e.code))
  )
    return true;
  return /Connection terminated|Client has encountered a connection error|connection timeout/i.test(e.message ?? '');
}

/** The URL with its password removed, for logs and `location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

type Pending = { table: tables.Table<never>; row: unknown[] } | { text: string; values: unknown[] };

/**
 * A transaction's writes. `StoreTx` writes are synchronous, so they are buffered and sent before the
 * next read through the transaction and before COMMIT: runs of writes to one table become one
 * multi-row statement, in the order they were made.
 */
class PgTx extends PgReader implements StoreTx {
  closed = false;
  private pending: Pending[] = [];
  /** New pending deliveries (no attempt yet) written here: announced to the other processes at commit. */
  readonly fresh: string[] = [];

  constructor(
    private readonly client: pg.PoolClient,
    codec: Codec,
  ) {
    const run: Run = async <R extends object>(text: string, values?: unknown[]) => {
      await this.flush();
      return (await this.client.query<R & pg.QueryResultRow>(text, values)).rows as R[];
    };
    super(run, codec, true);
  }

  /** Sends the buffered writes. @throws the database error; the transaction is then rolled back by the store. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const first = this.pending[0]!;
      let n = 1;
      if ('table' in first) while (n < this.pending.length && (this.pending[n] as { table?: unknown }).table === first.table) n += 1;
      const batch = this.pending.splice(0, n);
      if ('table' in first) {
        const { text, values } = tables.batchInsert(
          first.table,
          batch.map((p) => (p as { row: unknown[] }).row),
        );
        await this.client.query(text, values);
      } else {
        await this.client.query(first.text, first.values);
      }
    }
  }

  private guard(): void {
    if (this.closed) throw new Error('transaction already finished');
  }

  private put<T>(table: tables.Table<T>, value: T): void {
    this.guard();
    this.pending.push({ table: table as tables.Table<never>, row: table.row(value, this.codec) });
  }

  private statement(text: string, values: unknown[]): void {
    this.guard();
    this.pending.push({ text, values });
  }

  putSubscription(sub: Parameters<StoreTx['putSubscription']>[0]): void {
    this.put(tables.subscriptions, sub);
  }
  async deleteSubscription(id: string): Promise<void> {
    this.statement('DELETE FROM deliveries WHERE subscription_id = $1', [id]);
    this.statement('DELETE FROM subscriptions WHERE id = $1', [id]);
    await this.flush();
  }
  putApiKey(key: Parameters<StoreTx['putApiKey']>[0]): void {
    this.put(tables.apiKeys, key);
  }
  deleteApiKey(id: string): void {
    this.statement('DELETE FROM api_keys WHERE id = $1', [id]);
  }
  putResource(key: string, state: Parameters<StoreTx['putResource']>[1]): void {
    this.put(tables.resources, { key, state });
  }
  putSnapshot(resource: string, id: string, snapshot: Parameters<StoreTx['putSnapshot']>[2]): void {
    this.put(tables.snapshots, { resource, id, snapshot });
  }
  deleteSnapshot(resource: string, id: string): void {
    this.statement('DELETE FROM snapshots WHERE resource = $1 AND id = $2', [resource, id]);
  }
  appendEvents(events: Parameters<StoreTx['appendEvents']>[0]): void {
    for (const e of events) this.put(tables.events, e);
  }
  markDispatched(ids: readonly string[]): void {
    if (ids.length > 0) this.statement('UPDATE events SET dispatched = true WHERE id = ANY($1::text[]) AND NOT dispatched', [[...ids]]);
  }
  putDelivery(delivery: Delivery): void {
    this.put(tables.deliveries, delivery);
    if (delivery.status === 'pending' && delivery.attempt_count === 0) this.fresh.push(delivery.id);
  }
  appendAudit(entry: Parameters<StoreTx['appendAudit']>[0]): void {
    this.put(tables.audit, entry);
  }
}

/**
 * The bridge's state in PostgreSQL (`BRIDGE_DATABASE_URL`): one table per entity in one schema,
 * every `transaction` one SQL transaction on one pooled connection, reads straight from the database
 * (nothing cached, so several bridge processes can share it). With an encryption codec each row's
 * `doc` column is AES-256-GCM ciphertext; only ids, types, times and statuses stay readable.
 *
 * @example
 * const store = await PostgresStore.open({ url: 'postgres://bridge@db/bridge', schema: 'bridge' });
 * await store.transaction((tx) => tx.putSubscription(sub));
 */
export class PostgresStore extends PgReader implements Store {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly location: string;
  readonly shared: PgShared;
  readonly instanceId: string;
  private readonly channel: string;
  /** Write counts, like the lowdb store's. */
  readonly stats = { commits: 0, failedWrites: 0 };
  private writeError: string | null = null;
  private probe: NodeJS.Timeout | null = null;

  private constructor(pool: pg.Pool, connection: pg.ClientConfig, options: PostgresStoreOptions) {
    const run: Run = async <R extends object>(text: string, values?: unknown[]) =>
      (await pool.query<R & pg.QueryResultRow>(text, values)).rows as R[];
    super(run, options.codec ?? plainCodec);
    this.pool = pool;
    this.schema = options.schema ?? 'public';
    this.location = redactUrl(options.url) + (this.schema === 'public' ? '' : ` (schema ${this.schema})`);
    this.instanceId = options.instanceId ?? `${hostname()}:${process.pid}`;
    this.channel = deliveriesChannel(this.schema);
    this.shared = new PgShared(pool, this.codec, connection, this.channel, this.instanceId, (fn) => this.transaction(fn));
  }

  /**
   * Connects, applies pending migrations and checks the encryption key against the one the data was
   * written with.
   * @throws StoreKeyError when the key does not match the stored data; the database error when it
   *   cannot be reached or a migration fails. Nothing is left open then.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) throw new Error(`BRIDGE_DATABASE_SCHEMA ${JSON.stringify(schema)} must match ${SCHEMA_NAME}`);
    const connection: pg.ClientConfig = {
      connectionString: options.url,
      // JIT compilation costs more than these short statements ever run (it made a claim 250 ms).
      options: `-c search_path="${schema}" -c jit=off`,
      connectionTimeoutMillis: 10_000,
      application_name: 'clinic-event-bridge',
    };
    const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10 });
    const store = new PostgresStore(pool, connection, options);
    // An idle connection the server closed (restart, failover) must not crash the process.
    pool.on('error', (err) => store.noteFailure(err));
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
      await store.checkKey();
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (isConnectionError(err)) {
        throw new Error(
          `BRIDGE_DATABASE_URL: cannot reach ${store.location}: ${(err as Error).message || (err as { code?: string }).code}`,
          { cause: err },
        );
      }
      throw err;
    }
    store.probe = setInterval(() => void store.probeNow(), options.probeIntervalMs ?? 5_000);
    store.probe.unref();
    return store;
  }

  private async checkKey(): Promise<void> {
    const codec = this.codec;
    await this.pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', ['key_check', codec.encode(KEY_CHECK)]);
    const [row] = (await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', ['key_check'])).rows;
    let text: string;
    try {
      text = codec.decode(row!.value);
    } catch (err) {
      if (err instanceof StoreKeyError) throw new StoreKeyError(`${err.message} (database ${this.location})`);
      throw err;
    }
    if (text !== KEY_CHECK)
      throw new StoreKeyError(`the database ${this.location} does not hold a bridge store written with this BRIDGE_ENCRYPTION_KEY`);
  }

  /**
   * Runs `fn` in one SQL transaction (READ COMMITTED) on one connection: its writes are sent in
   * batches, its reads see them, COMMIT makes them durable together; ROLLBACK if `fn` throws.
   * @throws what `fn` throws, or the database error (`health()` then reports it until a write succeeds).
   */
  async transaction<T>(fn: (tx: PgTx) => T | Promise<T>): Promise<T> {
    return this.inTransaction(async (client) => {
      const tx = new PgTx(client, this.codec);
      let result: T;
      try {
        result = await fn(tx);
      } finally {
        tx.closed = true;
      }
      await tx.flush();
      // Delivered with the COMMIT, to every process listening (LISTEN/NOTIFY), or not at all.
      if (tx.fresh.length > 0) await client.query('SELECT pg_notify($1, $2)', [this.channel, deliveriesPayload(this.instanceId, tx.fresh)]);
      return result;
    });
  }

  /** Retention in two statements of one transaction: events with only succeeded deliveries (or none), those deliveries, old audit entries. */
  async compact(cutoff: string): Promise<{ events: number; deliveries: number; audit: number }> {
    return this.inTransaction(async (client) => {
      const [row] = (
        await client.query<{ events: string; deliveries: string }>(
          `WITH dropped AS (
             DELETE FROM events e
             WHERE e.detected_at < $1 AND e.dispatched
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'succeeded')
             RETURNING e.id),
           gone AS (DELETE FROM deliveries d USING dropped WHERE d.event_id = dropped.id RETURNING d.id)
           SELECT (SELECT count(*) FROM dropped) AS events, (SELECT count(*) FROM gone) AS deliveries`,
          [cutoff],
        )
      ).rows;
      const audit = await client.query('DELETE FROM audit WHERE at < $1', [cutoff]);
      return { events: Number(row!.events), deliveries: Number(row!.deliveries), audit: audit.rowCount ?? 0 };
    });
  }

  /**
   * BEGIN, `work`, COMMIT on one pooled connection; ROLLBACK when `work` throws. A connection that
   * failed is discarded rather than returned to the pool.
   */
  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
    let broken: Error | undefined;
    // A checked-out client has no pool listener: a server that goes away between statements would
    // otherwise be an uncaught 'error' event.
    const onError = (err: Error) => {
      broken = err;
      this.noteFailure(err);
    };
    client.on('error', onError);
    const started = performance.now();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      this.stats.commits += 1;
      metrics.storeCommit.observe((performance.now() - started) / 1000);
      this.writeError = null;
      return result;
    } catch (err) {
      if (isConnectionError(err)) {
        broken = err as Error;
        this.noteFailure(err);
      } else {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e as Error;
        });
      }
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** Every snapshot of a resource in id order, deletion tombstones included (export), a batch per round trip. */
  async *allSnapshots(resource: string): AsyncIterable<[string, Snapshot]> {
    let after = '';
    for (;;) {
      const rows = await this.run<{ id: string; doc: string }>(
        'SELECT id, doc FROM snapshots WHERE resource = $1 AND id > $2 ORDER BY id LIMIT 1000',
        [resource, after],
      );
      for (const r of rows) yield [r.id, tables.decodeDoc<Snapshot>(this.codec, r.doc)];
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async counts(): Promise<StoreCounts> {
    const [row] = await this.run<{ subscriptions: string; api_keys: string; events: string; audit: string }>(
      `SELECT (SELECT count(*) FROM subscriptions) AS subscriptions, (SELECT count(*) FROM api_keys) AS api_keys,
              (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM audit) AS audit`,
    );
    const deliveries: StoreCounts['deliveries'] = { pending: 0, succeeded: 0, failed: 0 };
    for (const r of await this.run<{ status: Delivery['status']; n: string }>(
      'SELECT status, count(*) AS n FROM deliveries GROUP BY status',
    ))
      deliveries[r.status] = Number(r.n);
    const snapshots: Record<string, number> = {};
    for (const r of await this.run<{ resource: string; n: string }>(
      'SELECT resource, count(*) AS n FROM snapshots GROUP BY resource ORDER BY resource',
    ))
      snapshots[r.resource] = Number(r.n);
    return {
      subscriptions: Number(row!.subscriptions),
      api_keys: Number(row!.api_keys),
      events: Number(row!.events),
      deliveries,
      audit: Number(row!.audit),
      snapshots,
    };
  }

  /** Bytes of the schema's tables with their indexes and TOAST data. */
  async sizeBytes(): Promise<number | null> {
    const [row] = await this.run<{ n: string | null }>(
      `SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
       WHERE ns.nspname = current_schema() AND c.relkind = 'r'`,
    );
    return row?.n == null ? 0 : Number(row.n);
  }

  health(): StoreHealth {
    return { writable: this.writeError === null, reason: this.writeError, failedWrites: this.stats.failedWrites };
  }

  /** Checks the database answers now; updates `health()`. */
  async probeNow(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      this.writeError = null;
      return true;
    } catch (err) {
      this.noteFailure(err);
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
    await this.shared.close();
    await this.pool.end();
  }

  private noteFailure(err: unknown): void {
    this.stats.failedWrites += 1;
    metrics.storeWriteFailures.inc();
    this.writeError = `database unreachable: ${(err as Error)?.message ?? String(err)}`;
  }
}

import type { Codec } from '../codec.js';
import type { ApiKey, AuditEntry, Delivery, ResourceState, Snapshot, StoredEvent, Subscription } from '../schema.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { AuditQuery, DeliveryQuery, EventQuery, Page, StoreReader } from '../store.js';
import { decodeDoc, subscriptionFrom } from './tables.js';

/** Runs one statement and returns its rows: on the pool, or on a transaction's connection. */
export type Run = <R extends object>(text: string, values?: unknown[]) => Promise<R[]>;

/** Rows read per round trip when iterating every live snapshot of a resource. */
const SNAPSHOT_BATCH = 1000;

/** LIKE pattern of an event type prefix (`attendee.*` → `attendee.%`), `_` and `%` taken literally. */
function likePrefix(pattern: string): string {
  return pattern.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** Builds a WHERE clause and its parameters. */
class Where {
  readonly parts: string[] = [];
  readonly values: unknown[] = [];
  /** Adds a parameter and returns its placeholder. */
  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  add(sql: string): void {
    this.parts.push(sql);
  }
  get sql(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/** Newest first page: fetches one row more than `limit` to tell whether there is a next page. */
function pageOf<T>(items: T[], limit: number | undefined, idOf: (item: T) => string): Page<T> {
  if (limit === undefined || items.length <= limit) return { data: items, next: null };
  const data = items.slice(0, limit);
  return { data, next: data.length > 0 ? idOf(data[data.length - 1]!) : null };
}

const limitSql = (w: Where, limit: number | undefined) => (limit === undefined ? '' : ` LIMIT ${w.p(limit + 1)}`);

/**
 * The reads of `StoreReader` in SQL, over a `Run` (so the same code reads from the pool and inside
 * a transaction). Every value is decoded with the store's codec and frozen.
 */
export class PgReader implements StoreReader {
  /**
   * @param lockRows inside a transaction: `getEvent` and `getDelivery` lock the row (`FOR UPDATE`)
   *   until it ends, so two processes' read-modify-writes of one event or delivery run one after the
   *   other (two dispatchers cannot both see an event undispatched) instead of losing an update.
   */
  constructor(
    protected readonly run: Run,
    protected readonly codec: Codec,
    private readonly lockRows = false,
  ) {}

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const [row] = await this.run<{ doc: string }>('SELECT doc FROM subscriptions WHERE id = $1', [id]);
    return row ? subscriptionFrom(this.codec, row.doc) : undefined;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    const rows = await this.run<{ doc: string }>('SELECT doc FROM subscriptions ORDER BY created_at, id');
    return rows.map((r) => subscriptionFrom(this.codec, r.doc));
  }

  async getApiKey(id: string): Promise<ApiKey | undefined> {
    const [row] = await this.run<{ doc: string }>('SELECT doc FROM api_keys WHERE id = $1', [id]);
    return row ? decodeDoc<ApiKey>(this.codec, row.doc) : undefined;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const [row] = await this.run<{ doc: string }>('SELECT doc FROM api_keys WHERE hash = $1', [hash]);
    return row ? decodeDoc<ApiKey>(this.codec, row.doc) : undefined;
  }

  async listApiKeys(): Promise<ApiKey[]> {
    const rows = await this.run<{ doc: string }>('SELECT doc FROM api_keys ORDER BY created_at, id');
    return rows.map((r) => decodeDoc<ApiKey>(this.codec, r.doc));
  }

  async getResource(key: string): Promise<ResourceState | undefined> {
    const [row] = await this.run<{ doc: string }>('SELECT doc FROM resources WHERE key = $1', [key]);
    return row ? decodeDoc<ResourceState>(this.codec, row.doc) : undefined;
  }

  async listResources(): Promise<Record<string, ResourceState>> {
    const out: Record<string, ResourceState> = {};
    for (const r of await this.run<{ key: string; doc: string }>('SELECT key, doc FROM resources ORDER BY key'))
      out[r.key] = decodeDoc(this.codec, r.doc);
    return out;
  }

  async getSnapshots(resource: string, ids: readonly string[]): Promise<Map<string, Snapshot>> {
    const out = new Map<string, Snapshot>();
    if (ids.length === 0) return out;
    const rows = await this.run<{ id: string; doc: string }>('SELECT id, doc FROM snapshots WHERE resource = $1 AND id = ANY($2::text[])', [
      resource,
      [...ids],
    ]);
    for (const r of rows) out.set(r.id, decodeDoc(this.codec, r.doc));
    return out;
  }

  async liveSnapshotIds(resource: string): Promise<string[]> {
    const rows = await this.run<{ id: string }>('SELECT id FROM snapshots WHERE resource = $1 AND live ORDER BY id', [resource]);
    return rows.map((r) => r.id);
  }

  /** In id order, a batch of rows per round trip (keyset paging), so a large resource is never in memory whole. */
  async *liveSnapshots(resource: string): AsyncIterable<[string, Snapshot]> {
    let after = '';
    for (;;) {
      const rows = await this.run<{ id: string; doc: string }>(
        'SELECT id, doc FROM snapshots WHERE resource = $1 AND live AND id > $2 ORDER BY id LIMIT $3',
        [resource, after, SNAPSHOT_BATCH],
      );
      for (const r of rows) yield [r.id, decodeDoc<Snapshot>(this.codec, r.doc)];
      if (rows.length < SNAPSHOT_BATCH) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async countSnapshots(resource: string): Promise<number> {
    const [row] = await this.run<{ n: string }>('SELECT count(*) AS n FROM snapshots WHERE resource = $1', [resource]);
    return Number(row!.n);
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const [row] = await this.run<{ doc: string; dispatched: boolean }>(
      `SELECT doc, dispatched FROM events WHERE id = $1${this.lockRows ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return row ? this.eventFrom(row) : undefined;
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const w = new Where();
    if (query.before !== undefined) w.add(`e.id < ${w.p(query.before)}`);
    if (query.undispatched) w.add('NOT e.dispatched');
    if (query.types && !query.types.includes('*')) {
      const exact = query.types.filter((t) => !t.endsWith('.*'));
      const prefixes = query.types.filter((t) => t.endsWith('.*')).map(likePrefix);
      w.add(`(e.type = ANY(${w.p(exact)}::text[]) OR e.type LIKE ANY(${w.p(prefixes)}::text[]))`);
    }
    if (query.resource !== undefined) w.add(`e.resource = ${w.p(query.resource)}`);
    if (query.record_id !== undefined) w.add(`e.record_id = ${w.p(query.record_id)}`);
    if (query.since !== undefined) w.add(`e.detected_at >= ${w.p(query.since)}`);
    if (query.until !== undefined) w.add(`e.detected_at < ${w.p(query.until)}`);
    if (query.delivered_to) {
      w.add(
        `EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.subscription_id = ANY(${w.p([...query.delivered_to])}::text[]))`,
      );
    }
    const rows = await this.run<{ doc: string; dispatched: boolean }>(
      `SELECT e.doc, e.dispatched FROM events e ${w.sql} ORDER BY e.id DESC${limitSql(w, query.limit)}`,
      w.values,
    );
    return pageOf(
      rows.map((r) => this.eventFrom(r)),
      query.limit,
      (e) => e.payload.id,
    );
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const [row] = await this.run<{ doc: string }>(`SELECT doc FROM deliveries WHERE id = $1${this.lockRows ? ' FOR UPDATE' : ''}`, [id]);
    return row ? decodeDoc<Delivery>(this.codec, row.doc) : undefined;
  }

  /** Several deliveries in one statement (locked until the transaction ends, inside one), by id. */
  async getDeliveries(ids: readonly string[]): Promise<Map<string, Delivery>> {
    const out = new Map<string, Delivery>();
    if (ids.length === 0) return out;
    const rows = await this.run<{ id: string; doc: string }>(
      `SELECT id, doc FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id${this.lockRows ? ' FOR UPDATE' : ''}`,
      [[...ids]],
    );
    for (const r of rows) out.set(r.id, decodeDoc<Delivery>(this.codec, r.doc));
    return out;
  }

  async listDeliveries(query: DeliveryQuery): Promise<Page<Delivery>> {
    const w = new Where();
    if (query.before !== undefined) w.add(`id < ${w.p(query.before)}`);
    if (query.event_id !== undefined) w.add(`event_id = ${w.p(query.event_id)}`);
    if (query.subscription_id !== undefined) w.add(`subscription_id = ${w.p(query.subscription_id)}`);
    if (query.status !== undefined) w.add(`status = ${w.p(query.status)}`);
    const rows = await this.run<{ doc: string }>(
      `SELECT doc FROM deliveries ${w.sql} ORDER BY id DESC${limitSql(w, query.limit)}`,
      w.values,
    );
    return pageOf(
      rows.map((r) => decodeDoc<Delivery>(this.codec, r.doc)),
      query.limit,
      (d) => d.id,
    );
  }

  async listAudit(query: AuditQuery): Promise<Page<AuditEntry>> {
    const w = new Where();
    if (query.before !== undefined) w.add(`id < ${w.p(query.before)}`);
    if (query.actor !== undefined) w.add(`actor = ${w.p(query.actor)}`);
    if (query.since !== undefined) w.add(`at >= ${w.p(query.since)}`);
    const rows = await this.run<{ doc: string }>(`SELECT doc FROM audit ${w.sql} ORDER BY id DESC${limitSql(w, query.limit)}`, w.values);
    return pageOf(
      rows.map((r) => decodeDoc<AuditEntry>(this.codec, r.doc)),
      query.limit,
      (a) => a.id,
    );
  }

  private eventFrom(row: { doc: string; dispatched: boolean }): StoredEvent {
    return Object.freeze({ payload: decodeDoc<EventEnvelope>(this.codec, row.doc), dispatched: row.dispatched });
  }
}

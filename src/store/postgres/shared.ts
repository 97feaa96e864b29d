import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Codec } from '../codec.js';
import type { EventEnvelope } from '../../events/envelope.js';
import type { Delivery, StoredEvent, Subscription } from '../schema.js';
import type { ClaimBatch, ClaimedDelivery, SharedStore, StoreTx } from '../store.js';
import type { PgReader } from './reader.js';
import * as tables from './tables.js';
import { decodeDoc, subscriptionFrom } from './tables.js';

/** How long the listener waits before reconnecting after its connection dropped (database restart). */
const LISTEN_RETRY_MS = 1_000;
/** NOTIFY payloads must stay under 8000 bytes; beyond this many characters of ids, listeners re-read instead. */
const MAX_NOTIFY_IDS_CHARS = 7_000;

/** The NOTIFY channel of a schema's new deliveries (schema names are already restricted to `[a-z0-9_]`). */
export function deliveriesChannel(schema: string): string {
  return `cebridge_${schema}_deliveries`;
}

/** The NOTIFY payload for new pending deliveries: `holder|id,id,…`, or `holder|*` when too many to list. */
export function deliveriesPayload(holder: string, ids: readonly string[]): string {
  const list = ids.join(',');
  return `${holder}|${list.length > MAX_NOTIFY_IDS_CHARS ? '*' : list}`;
}

const due = (d: Delivery) => d.next_attempt_at ?? '';

/**
 * One claim of up to $5 due deliveries for holder $7 (claim for $8 ms). $1–$3 are the active
 * subscriptions with their `max_in_flight` and `rate_limit_per_second`; $4 those ordered per record;
 * $10 the `subscriptions_version` they were read at: when it moved, nothing is claimed (the caller
 * reads the subscriptions again). `room`: what each subscription may still start, counted over every
 * process (a limit that is not set costs no count). `due`: the oldest due deliveries nobody holds of
 * subscriptions with room, whose record has no older pending delivery (per-record), at most $9
 * candidates (walking the `deliveries_due` index), locked, skipping rows another transaction holds.
 * `pick`: per subscription no more than its room. The UPDATE marks them claimed and returns them
 * with their events.
 */
const CLAIM_SQL = `
WITH room AS (
  SELECT l.sub, LEAST(
    CASE WHEN l.max_in_flight IS NULL THEN $5
      ELSE l.max_in_flight - (SELECT count(*)::int FROM deliveries c WHERE c.subscription_id = l.sub AND c.claimed_until > now()) END,
    CASE WHEN l.rate IS NULL THEN $5
      ELSE l.rate - (SELECT count(*)::int FROM deliveries c WHERE c.subscription_id = l.sub AND c.claimed_at > now() - interval '1 second') END
  ) AS room
  FROM unnest($1::text[], $2::int[], $3::int[]) AS l(sub, max_in_flight, rate)
  WHERE (SELECT version FROM subscriptions_version) = $10::bigint
), due AS (
  SELECT d.id, d.subscription_id, d.next_attempt_at, d.event_id
  FROM deliveries d
  WHERE d.status = 'pending' AND d.next_attempt_at <= $6
    AND (d.claimed_until IS NULL OR d.claimed_until < now())
    AND d.subscription_id IN (SELECT sub FROM room WHERE room > 0)
    AND (d.subscription_id <> ALL($4::text[]) OR NOT EXISTS (
      SELECT 1 FROM events e
      JOIN events oe ON oe.resource = e.resource AND oe.record_id = e.record_id AND oe.id < e.id
      JOIN deliveries o ON o.event_id = oe.id
      WHERE e.id = d.event_id AND o.subscription_id = d.subscription_id AND o.status = 'pending'))
  ORDER BY d.next_attempt_at, d.event_id
  LIMIT $9
  FOR UPDATE OF d SKIP LOCKED
), pick AS (
  SELECT id FROM (
    SELECT due.*, r.room, row_number() OVER (PARTITION BY due.subscription_id ORDER BY due.next_attempt_at, due.event_id) AS rn
    FROM due JOIN room r ON r.sub = due.subscription_id
  ) x
  WHERE rn <= room
  ORDER BY next_attempt_at, event_id
  LIMIT $5
)
UPDATE deliveries d SET claimed_by = $7, claimed_until = now() + $8 * interval '1 millisecond', claimed_at = now()
FROM pick WHERE d.id = pick.id
RETURNING d.doc, (SELECT e.doc FROM events e WHERE e.id = d.event_id) AS event_doc`;

/** The subscriptions as read at one `subscriptions_version`. */
interface SubscriptionsAt {
  /** `subscriptions_version.version` (a bigint, as text). */
  version: string;
  /** Active subscriptions by id. */
  active: Map<string, Subscription>;
  /** Whether any active subscription has `max_in_flight` or `rate_limit_per_second`. */
  limited: boolean;
}

/** Claims whose subscriptions changed under them are tried again with a fresh read this many times. */
const STALE_RETRIES = 5;

/**
 * `SharedStore` on PostgreSQL: leases in the `leases` table, delivery claims as columns of
 * `deliveries` taken in batches with `SELECT … FOR UPDATE SKIP LOCKED`, and new deliveries announced with
 * NOTIFY on one channel per schema. Expiry times use the database clock, so processes on machines
 * with skewed clocks still agree.
 */
export class PgShared implements SharedStore {
  private listener: pg.Client | null = null;
  private readonly listeners = new Set<(ids: string[] | null) => void>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  /** The advisory lock key that serialises claims of limited subscriptions in this schema. */
  private readonly claimLock: number;
  /** The subscriptions as last read, while their version holds (`claimDue`). */
  private subs: SubscriptionsAt | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly codec: Codec,
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    /** This process (`BRIDGE_INSTANCE_ID`): its own notices are not echoed back to it. */
    private readonly instanceId: string,
    /** The store's `transaction`, whose `tx` can also read several deliveries in one statement. */
    private readonly transaction: <T>(fn: (tx: StoreTx & Pick<PgReader, 'getDeliveries'>) => Promise<T>) => Promise<T>,
  ) {
    this.claimLock = createHash('sha256').update(`${channel}:claim`).digest().readInt32BE(0);
  }

  async lease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const { rows } = await this.pool.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at < now()
       RETURNING holder`,
      [name, holder, ttlMs],
    );
    return rows.length === 1;
  }

  async releaseLeases(holder: string): Promise<void> {
    await this.pool.query('DELETE FROM leases WHERE holder = $1', [holder]);
  }

  async claimDue(holder: string, ttlMs: number, limit: number, now: string): Promise<ClaimBatch> {
    for (let tries = 0; ; tries++) {
      // An empty copy is never trusted: with nothing to claim for, the claim would not reach the
      // database, which is where a new or re-enabled subscription shows.
      const subs = this.subs?.active.size ? this.subs : await this.readSubscriptions();
      if (subs.active.size === 0) return { claimed: [], nextAt: null };
      // Limits are counted over every process: claims of limited subscriptions take turns (an
      // advisory lock held to the end of the claim's transaction), so two processes cannot both see the
      // last free slot. Without limits SKIP LOCKED alone keeps claims apart: one statement, no transaction.
      const batch = subs.limited
        ? await this.inTransaction(`BEGIN; SELECT pg_advisory_xact_lock(${this.claimLock})`, async (client) =>
            this.claimWith(client, subs, holder, ttlMs, limit, now),
          )
        : await this.claimWith(this.pool, subs, holder, ttlMs, limit, now);
      if (batch.version === subs.version) return batch.result;
      // The subscriptions changed: this copy is dropped. A claim made under the old version is
      // still valid (the version was checked in its statement); an empty one is asked again.
      if (this.subs === subs) this.subs = null;
      if (batch.result.claimed.length > 0 || tries >= STALE_RETRIES) return batch.result;
    }
  }

  /**
   * Runs `fn` in one transaction on a pooled client: `begin` opens it (and may take a lock), COMMIT
   * when `fn` resolves, ROLLBACK when it throws; a client that failed is destroyed, not reused.
   */
  private async inTransaction<T>(begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Reads every subscription and the version they are at, in one statement; keeps them until the version moves. */
  private async readSubscriptions(): Promise<SubscriptionsAt> {
    const { rows } = await this.pool.query<{ version: string; docs: string[] }>(
      'SELECT (SELECT version FROM subscriptions_version)::text AS version, ARRAY(SELECT doc FROM subscriptions) AS docs',
    );
    const active = new Map<string, Subscription>();
    for (const doc of rows[0]!.docs) {
      const sub = subscriptionFrom(this.codec, doc);
      if (sub.status === 'active') active.set(sub.id, sub);
    }
    const list = [...active.values()];
    this.subs = {
      version: rows[0]!.version,
      active,
      limited: list.some((s) => s.max_in_flight !== null || s.rate_limit_per_second !== null),
    };
    return this.subs;
  }

  /**
   * One claim with the subscriptions `subs`, and when it is short, when the next delivery falls due.
   * @returns the batch and the `subscriptions_version` seen after it (or `subs.version` when the batch
   *   is full: a full batch proves the version held).
   */
  private async claimWith(
    db: pg.Pool | pg.PoolClient,
    subs: SubscriptionsAt,
    holder: string,
    ttlMs: number,
    limit: number,
    now: string,
  ): Promise<{ result: ClaimBatch; version: string }> {
    const list = [...subs.active.values()];
    // Named: each connection parses and plans the claim once, not at every batch.
    const { rows } = await db.query<{ doc: string; event_doc: string | null }>({
      name: 'cebridge_claim',
      text: CLAIM_SQL,
      values: [
        list.map((s) => s.id),
        list.map((s) => s.max_in_flight),
        list.map((s) => s.rate_limit_per_second),
        list.filter((s) => s.ordering === 'per_record').map((s) => s.id),
        limit,
        now,
        holder,
        ttlMs,
        // Without limits every candidate is taken; with them, some subscription may have no room left
        // and the others need candidates behind its deliveries.
        subs.limited ? Math.max(limit * 4, 256) : limit,
        subs.version,
      ],
    });
    const claimed: ClaimedDelivery[] = rows
      .map((r) => {
        const delivery = decodeDoc<Delivery>(this.codec, r.doc);
        const event: StoredEvent | undefined = r.event_doc
          ? Object.freeze({ payload: decodeDoc<EventEnvelope>(this.codec, r.event_doc), dispatched: true })
          : undefined;
        return { delivery, event, subscription: subs.active.get(delivery.subscription_id)! };
      })
      .sort((a, b) => due(a.delivery).localeCompare(due(b.delivery)) || a.delivery.event_id.localeCompare(b.delivery.event_id));
    if (claimed.length === limit) return { result: { claimed, nextAt: null }, version: subs.version };
    const [next] = (
      await db.query<{ due: string | null; expires: number | null; version: string }>({
        name: 'cebridge_claim_next',
        text: `SELECT (SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())) AS due,
                (SELECT extract(epoch FROM min(claimed_until)) * 1000 FROM deliveries WHERE claimed_until IS NOT NULL) AS expires,
                (SELECT version FROM subscriptions_version)::text AS version`,
      })
    ).rows;
    let nextAt: number | null = null;
    const candidates = [
      next?.due ? Math.max(Date.parse(now), Date.parse(next.due)) : null,
      next?.expires == null ? null : Number(next.expires),
    ];
    for (const c of candidates) if (c !== null && (nextAt === null || c < nextAt)) nextAt = c;
    return { result: { claimed, nextAt }, version: next!.version };
  }

  async recordClaimed(holder: string, records: ReadonlyArray<{ delivery: Delivery; claimedAttemptCount: number }>): Promise<Set<string>> {
    if (records.length === 0) return new Set();
    const rows = records.map((r) => tables.deliveries.row(r.delivery, this.codec));
    const { rows: written } = await this.pool.query<{ id: string }>({
      name: 'cebridge_record_claimed',
      text: `UPDATE deliveries d
       SET status = u.status, next_attempt_at = u.next_attempt_at, attempt_count = u.attempt_count, doc = u.doc,
           claimed_by = NULL, claimed_until = NULL
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[])
         AS u(id, status, next_attempt_at, attempt_count, doc, claimed_count)
       WHERE d.id = u.id AND d.claimed_by = $7 AND d.attempt_count = u.claimed_count
       RETURNING d.id`,
      values: [
        rows.map((r) => r[0]),
        rows.map((r) => r[3]),
        rows.map((r) => r[4]),
        rows.map((r) => r[6]),
        rows.map((r) => r[7]),
        records.map((r) => r.claimedAttemptCount),
        holder,
      ],
    });
    return new Set(written.map((r) => r.id));
  }

  async releaseClaims(holder: string, ids?: readonly string[]): Promise<void> {
    if (ids?.length === 0) return;
    await this.pool.query(
      `UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL
       WHERE claimed_by = $1 AND claimed_until IS NOT NULL${ids ? ' AND id = ANY($2::text[])' : ''}`,
      ids ? [holder, [...ids]] : [holder],
    );
  }

  recordAttempts<T>(ids: readonly string[], fn: (tx: StoreTx, current: ReadonlyMap<string, Delivery>) => T | Promise<T>): Promise<T> {
    return this.transaction(async (tx) => fn(tx, await tx.getDeliveries(ids)));
  }

  async takeRequestSlot(key: string, perMinute: number): Promise<number> {
    // clock_timestamp(), not now(): a grant that waited for the key's row counts from when it is granted.
    return this.inTransaction('BEGIN', async (client) => {
      const [budget] = (
        await client.query<{ paused_ms: number | null }>(
          `INSERT INTO request_budgets (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET key = excluded.key
           RETURNING extract(epoch FROM paused_until - clock_timestamp()) * 1000 AS paused_ms`,
          [key],
        )
      ).rows;
      let waitMs = budget?.paused_ms != null && Number(budget.paused_ms) > 0 ? Math.ceil(Number(budget.paused_ms)) : 0;
      if (waitMs === 0) {
        await client.query(`DELETE FROM request_starts WHERE key = $1 AND at <= clock_timestamp() - interval '60 seconds'`, [key]);
        const [window] = (
          await client.query<{ n: number; free_ms: number | null }>(
            `SELECT count(*)::int AS n, extract(epoch FROM min(at) + interval '60 seconds' - clock_timestamp()) * 1000 AS free_ms
             FROM request_starts WHERE key = $1`,
            [key],
          )
        ).rows;
        if (window!.n < perMinute) await client.query('INSERT INTO request_starts (key, at) VALUES ($1, clock_timestamp())', [key]);
        else waitMs = Math.max(1, Math.ceil(Number(window!.free_ms ?? 1)));
      }
      return waitMs;
    });
  }

  async pauseRequests(key: string, untilMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO request_budgets (key, paused_until) VALUES ($1, to_timestamp($2 / 1000.0))
       ON CONFLICT (key) DO UPDATE SET paused_until = GREATEST(request_budgets.paused_until, excluded.paused_until)`,
      [key, untilMs],
    );
  }

  async countPending(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'");
    return Number(rows[0]!.n);
  }

  onDeliveries(listener: (ids: string[] | null) => void): () => void {
    this.listeners.add(listener);
    if (!this.listener && !this.retry) void this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Connects the LISTEN connection; after a drop, reconnects and tells listeners to re-read (notices may be lost). */
  private async listen(reconnected = false): Promise<void> {
    this.retry = null;
    if (this.closed || this.listeners.size === 0) return;
    const client = new pg.Client(this.connection);
    const again = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (!this.closed && !this.retry) this.retry = setTimeout(() => void this.listen(true), LISTEN_RETRY_MS);
      this.retry?.unref();
    };
    client.on('error', again);
    client.on('end', again);
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return;
      const bar = msg.payload.indexOf('|');
      if (msg.payload.slice(0, bar) === this.instanceId) return;
      const list = msg.payload.slice(bar + 1);
      const ids = list === '*' ? null : list.split(',').filter(Boolean);
      for (const l of this.listeners) l(ids);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.listener = client;
      if (reconnected) for (const l of this.listeners) l(null);
    } catch {
      again();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.listener;
    this.listener = null;
    client?.removeAllListeners('end');
    client?.removeAllListeners('error');
    client?.on('error', () => undefined);
    await client?.end().catch(() => undefined);
  }
}

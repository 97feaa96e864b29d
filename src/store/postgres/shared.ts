import pg from 'pg';
import type { Codec } from '../codec.js';
import type { SharedStore } from '../store.js';
import { subscriptionFrom } from './tables.js';

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

/**
 * `SharedStore` on PostgreSQL: leases in the `leases` table, delivery claims as columns of
 * `deliveries` taken with `SELECT … FOR UPDATE SKIP LOCKED`, and new deliveries announced with
 * NOTIFY on one channel per schema. Expiry times use the database clock, so processes on machines
 * with skewed clocks still agree.
 */
export class PgShared implements SharedStore {
  private listener: pg.Client | null = null;
  private readonly listeners = new Set<(ids: string[] | null) => void>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly codec: Codec,
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    /** This process (`BRIDGE_INSTANCE_ID`): its own notices are not echoed back to it. */
    private readonly instanceId: string,
  ) {}

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

  async claimDelivery(id: string, holder: string, ttlMs: number): Promise<boolean> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const nowIso = new Date().toISOString();
      // SKIP LOCKED: another process in the middle of claiming it wins; this one moves on.
      const { rows } = await client.query<{ subscription_id: string; event_id: string }>(
        `SELECT subscription_id, event_id FROM deliveries
         WHERE id = $1 AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
           AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_until < now())
         FOR UPDATE SKIP LOCKED`,
        [id, nowIso, holder],
      );
      const d = rows[0];
      const ok = d ? await this.withinLimits(client, id, d.subscription_id, d.event_id) : false;
      if (ok) {
        await client.query(
          `UPDATE deliveries SET claimed_by = $2, claimed_until = now() + $3 * interval '1 millisecond', claimed_at = now() WHERE id = $1`,
          [id, holder, ttlMs],
        );
      }
      await client.query('COMMIT');
      return ok;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The subscription's limits across every process. Its row is locked first, so claims of one
   * subscription are counted one at a time.
   */
  private async withinLimits(client: pg.PoolClient, id: string, subscriptionId: string, eventId: string): Promise<boolean> {
    const { rows } = await client.query<{ doc: string }>('SELECT doc FROM subscriptions WHERE id = $1 FOR UPDATE', [subscriptionId]);
    if (!rows[0]) return false;
    const sub = subscriptionFrom(this.codec, rows[0].doc);
    if (sub.status !== 'active') return false;
    if (sub.max_in_flight !== null) {
      const { rows: n } = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM deliveries WHERE subscription_id = $1 AND id <> $2 AND claimed_by IS NOT NULL AND claimed_until > now()',
        [subscriptionId, id],
      );
      if (Number(n[0]!.n) >= sub.max_in_flight) return false;
    }
    if (sub.rate_limit_per_second !== null) {
      const { rows: n } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM deliveries WHERE subscription_id = $1 AND id <> $2 AND claimed_at > now() - interval '1 second'`,
        [subscriptionId, id],
      );
      if (Number(n[0]!.n) >= sub.rate_limit_per_second) return false;
    }
    if (sub.ordering === 'per_record') {
      const { rows: older } = await client.query(
        `SELECT 1 FROM deliveries o JOIN events oe ON oe.id = o.event_id, events e
         WHERE e.id = $2 AND o.subscription_id = $1 AND o.status = 'pending' AND o.event_id < $2
           AND oe.resource = e.resource AND oe.record_id = e.record_id
         LIMIT 1`,
        [subscriptionId, eventId],
      );
      if (older.length > 0) return false;
    }
    return true;
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

import type { OpenAPIHono } from '@hono/zod-openapi';
/**
 * The one interface a practice-management system plugs in behind. The poller, store, delivery and
 * HTTP layers only see these types, never a source module.
 */

/** A record as the upstream API returned it. Ids are strings end to end (Cliniko ids are int64). */
export interface SourceRecord {
  id: string;
  [field: string]: unknown;
}

/**
 * A lifecycle column and the events its transitions emit, e.g. `archived_at` →
 * `{ set: 'archived', cleared: 'unarchived' }`. A lifecycle event replaces `.updated`.
 */
export interface LifecycleColumn {
  column: string;
  /** Event suffix when the column goes from null to a value. */
  set: string;
  /** Event suffix when it goes back to null; `undefined` means a plain `.updated`. */
  cleared?: string;
}

/**
 * A record that is gone. By default a deletion (`<prefix>.deleted`, the snapshot kept as a tombstone
 * with `deleted_at` set). With `kind`, a removal of another kind (Esteem: `removed`, gone from a window
 * it should still be in): `<prefix>.<kind>` with the last known object, and the snapshot is dropped,
 * so a record that comes back is `created` again.
 */
export interface Deletion {
  id: string;
  /** Server time of the deletion, when the API gives one (Cliniko `deleted_at`). */
  deleted_at?: string;
  /** The full object, when the API returns one. */
  record?: SourceRecord;
  kind?: string;
}

/** An event derived from a change, emitted in addition to the generic one (Stripe's `invoice.paid`). */
export interface DerivedEvent {
  /** Event suffix, e.g. `rescheduled` → `<prefix>.rescheduled`. */
  kind: string;
  /** Extra fields for the event's `data`, e.g. `{ from: 10, to: 20 }`. */
  data?: Record<string, unknown>;
}

/** What a feed may look at while reading: the bridge's own snapshots of this resource. */
export interface ReadContext {
  signal?: AbortSignal;
  /** The last versions the bridge recorded of these records (absent ids: never seen). */
  snapshots(ids: readonly string[]): Promise<Map<string, SourceRecord>>;
  /** Ids of every record the bridge holds a live snapshot of (not deleted). */
  knownIds(): Promise<string[]>;
  /** Every record the bridge holds a live snapshot of, read from the store: for small windows only. */
  known(): AsyncIterable<SourceRecord>;
}

/**
 * One unit of progress from a feed. The poller records the events it yields, the snapshots and
 * `cursor` in a single store write, so `cursor` must be safe to resume from once everything before
 * it in the feed is recorded.
 */
export interface Batch {
  records: SourceRecord[];
  deletions: Deletion[];
  /** Opaque, JSON-serialisable position to resume from. */
  cursor: unknown;
  /** True while the feed is still reading its first full pass (no events unless backfill). */
  baseline: boolean;
}

/** One resource of one source that can be read incrementally. */
export interface ChangeFeed {
  /** `cliniko`, later `esteem`: goes into every event as `data.source`. */
  readonly source: string;
  /** The upstream path/collection, e.g. `individual_appointments`. */
  readonly resource: string;
  /** Singular event prefix, e.g. `individual_appointment`. */
  readonly eventPrefix: string;
  readonly lifecycle: readonly LifecycleColumn[];
  /** Field holding the server's modification time, compared to ignore stale reads. */
  readonly versionField: string;
  /**
   * Fields a hashed snapshot keeps readable (besides `id`, the version field and lifecycle columns):
   * what `deriveEvents` and the feed's own reads of snapshots need, and nothing identifying.
   */
  readonly clearFields?: readonly string[];
  /**
   * Reads everything changed since `cursor` (`null`: never polled) in order.
   * @throws UpstreamError on rate limits, 5xx, timeouts, network or malformed responses; batches
   *   already yielded stay valid.
   */
  read(cursor: unknown, context: ReadContext): AsyncIterable<Batch>;
  /**
   * Domain events of a change, in addition to the generic ones (`created`, `updated`, lifecycle).
   * @param previous the snapshot (undefined for a new record)
   * @param changedFields top-level fields whose value differs (empty for a new record)
   */
  deriveEvents?(previous: SourceRecord | undefined, current: SourceRecord, changedFields: readonly string[]): DerivedEvent[];
}

/**
 * A configured practice-management system: its feeds, the schedule they are polled on, and optional
 * admin actions (routes mounted at `/v1/sources/<name>`, behind the admin token). Built by
 * `createSources` from configuration; the rest of the bridge sees only this.
 */
export interface Source {
  /** Goes into every event as `data.source`. */
  readonly name: string;
  readonly feeds: readonly ChangeFeed[];
  /** croner pattern. */
  readonly pollCron: string;
  /**
   * Admin routes of this source (e.g. Esteem's reschedule action), declared with `createRoute` so
   * they are validated and appear in `GET /openapi.json` like every other route.
   */
  readonly actions?: OpenAPIHono;
  /**
   * Optional: one authenticated request, made once at start, that decides whether the credentials
   * work, so a wrong key stops startup instead of failing every poll.
   * @throws CredentialsRejectedError when the upstream answers 401; anything else (network, 5xx,
   *   timeout) is thrown as is and the bridge starts anyway, the poller backing off as usual.
   */
  verify?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

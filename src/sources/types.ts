import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestBudget } from './rate-limiter.js';
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
  /**
   * How urgent the read's requests are when the feed's request budget queues them (0 most urgent;
   * a backfill passes 3). Absent: the feed's own default (Cliniko: from its tier).
   */
  priority?: number;
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
  /** Optional: how far a full read (the baseline, a backfill) has come, for logs and `GET /v1/sources`. */
  progress?: ReadProgress;
}

/** How far a full read has come: pages fetched and the lists' `total_entries` (null if unknown). */
export interface ReadProgress {
  pages: number;
  records: number;
  total_entries: number | null;
}

/** How often a resource should be polled relative to the others sharing its request budget. */
export type Tier = 'hot' | 'warm' | 'cold';

/**
 * Optional capability of a feed whose requests all go through one request budget (a Cliniko key):
 * the poller schedules such feeds with one budget scheduler per budget instead of the cron pattern.
 */
export interface FeedSchedule {
  readonly tier: Tier;
  /** The budget every request of the feed goes through, shared by the feeds of one key. */
  readonly budget: RequestBudget;
  /** Requests a poll that finds nothing new takes (default 1). */
  readonly expectedRequests?: number;
}

/**
 * One page of a background first pass: existing records, oldest change first. Reading it emits
 * nothing by itself; the poller records silent snapshots from it.
 */
export interface ExistingPage {
  records: SourceRecord[];
  /** Opaque, JSON-serialisable position to resume the pass after this page (survives a restart). */
  position: unknown;
  /** On the first page of each list read: the records that list reports left to read (`total_entries`). */
  total: number | null;
}

/**
 * Optional capability of a feed that can start live (issue "Live from the first minute"): on a
 * resource's first start, `read` reports changes from a moment just before the start on, while the
 * poller reads the existing records in the background at the lowest priority of the budget.
 */
export interface LiveStart {
  /** Records per request of `readExisting`: requests left = records left / this. */
  readonly pageSize: number;
  /**
   * Whether `cursor` has finished a first pass of its own (a cursor written before live starts
   * existed, mid-way through a blocking first pass, has not: the resource then starts live).
   */
  caughtUp(cursor: unknown): boolean;
  /**
   * The live start (`live_since`, a `versionField` value: `nowMs` minus the feed's overlap, or just
   * after the newest change upstream when that is earlier) and a cursor from which `read` reports
   * every change at or after it. May ask the upstream API for its newest change (one request).
   * @throws UpstreamError as `read` does
   */
  startLive(nowMs: number, context: { signal?: AbortSignal }): Promise<{ cursor: unknown; liveSince: string }>;
  /**
   * Every record whose `versionField` is before `before` (those at or after it are `read`'s), in
   * pages, resuming after `position` (null: from the beginning).
   * @throws UpstreamError as `read` does; pages already yielded stay valid.
   */
  readExisting(position: unknown, before: string, context: { signal?: AbortSignal; priority: number }): AsyncIterable<ExistingPage>;
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
  /** Present when the feed can start live and read its existing records in the background. */
  readonly live?: LiveStart;
  /** Present when the feed's requests share a request budget: polled on that budget's schedule, not the cron pattern. */
  readonly schedule?: FeedSchedule;
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

/**
 * The one interface a practice-management system plugs in behind. The poller, store, delivery and
 * HTTP layers only see these types, never a source module (style.md: "A source is a module that
 * implements one interface").
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

/** A record the source reports as deleted. `record` is the full object when the API returns one. */
export interface Deletion {
  id: string;
  deleted_at: string;
  record?: SourceRecord;
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
   * Reads everything changed since `cursor` (`null`: never polled) in order.
   * @throws UpstreamError on rate limits, 5xx, timeouts, network or malformed responses; batches
   *   already yielded stay valid.
   */
  read(cursor: unknown, signal?: AbortSignal): AsyncIterable<Batch>;
}

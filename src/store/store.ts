import type { ApiKey, AuditEntry, Delivery, ResourceState, Snapshot, StoredEvent, Subscription } from './schema.js';

/**
 * The bridge's state behind one interface, implemented by the embedded lowdb store
 * (`src/store/lowdb-store.ts`) and meant to be implemented by a database backend the same way. The
 * contract every backend keeps is `test/store-contract.ts`.
 *
 * Rules of the interface:
 * - Values handed out are frozen: nobody outside the store changes a stored object in place. To
 *   change one, build the new value and `put` it inside a `transaction`.
 * - Every change happens inside `transaction(fn)`: the writes `fn` makes through its `tx` become
 *   durable together (one journal line, one database transaction) before `transaction` resolves, and
 *   none of them if `fn` throws. Reads through `tx` see the transaction's own writes.
 * - Times are ISO 8601 UTC strings; ids are prefixed ULIDs (`evt_…`, `dlv_…`), so sorting ids sorts
 *   by creation time.
 */
export interface Store extends StoreReader {
  /** Runs one unit of work. @throws what `fn` throws (nothing is written then), or the write error. */
  transaction<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T>;
  /**
   * Drops what retention allows (README "Storage"): events detected before `cutoff` whose deliveries all succeeded (or
   * that had none), with those deliveries, and audit entries before `cutoff`. Snapshots are never
   * dropped. Durable when it resolves.
   */
  compact(cutoff: string): Promise<{ events: number; deliveries: number; audit: number }>;
  /** How much the store holds, for `npm run store -- check` and export/import checks. */
  counts(): Promise<StoreCounts>;
  /** Bytes the store occupies on disk, when the backend can tell cheaply (for `/metrics`). */
  sizeBytes(): Promise<number | null>;
  /** Whether writes currently succeed; `reason` says why not (disk full, database down). */
  health(): StoreHealth;
  /** Where the data lives, for logs and `npm run store` (a directory or a database URL without password). */
  readonly location: string;
  /** Makes everything durable and releases the store (locks, connections). */
  close(): Promise<void>;
  /**
   * Present when several bridge processes may share this store (PostgreSQL): how they split the work.
   * Absent for a store only one process can open (lowdb): that process does everything.
   */
  readonly shared?: SharedStore;
}

/**
 * Coordination of several bridge processes on one store (PostgreSQL). Each process names itself
 * (`holder`, `BRIDGE_INSTANCE_ID`); leases and claims expire, so the work of a process that died is
 * taken over. The embedded lowdb store has no `shared`: its one process does everything.
 */
export interface SharedStore {
  /**
   * Takes or renews the lease `name` (a source resource, `cliniko:patients`) for `holder` until
   * `ttlMs` from now. @returns false while another holder's lease is unexpired.
   */
  lease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives a lease up (clean stop), so another process need not wait for it to expire. */
  releaseLeases(holder: string): Promise<void>;
  /**
   * Claims up to `limit` due pending deliveries for `holder`, for `ttlMs` (longer than an attempt's
   * timeout), in one database round trip for the claim itself. A delivery is claimable when it is
   * pending, due at `now` (ISO time), its subscription is active, nobody else holds an unexpired
   * claim on it, and — for a `per_record` subscription — no older event of the same record has a
   * pending delivery to that subscription (claimed or not). Per subscription no more are claimed than
   * its `max_in_flight` minus the claims held by every process, nor more than its
   * `rate_limit_per_second` minus the claims every process made in the last second. Oldest due first.
   * Recording the attempt (`recordAttempts`, or any `putDelivery` that changes `attempt_count` or
   * `status`) ends the claim.
   */
  claimDue(holder: string, ttlMs: number, limit: number, now: string): Promise<ClaimBatch>;
  /**
   * Ends the claims `holder` still holds, or only those of the deliveries `ids`: called when a
   * process starts, so claims a previous process of the same `BRIDGE_INSTANCE_ID` left when it died
   * are retried at once rather than at expiry, and for claims a process will not send after all.
   */
  releaseClaims(holder: string, ids?: readonly string[]): Promise<void>;
  /**
   * One transaction that first reads and locks the deliveries `ids` (one statement), then runs `fn`
   * with them (missing ids are absent: deleted meanwhile). Records a batch of attempts in one commit.
   * @throws what `fn` throws (nothing is written then), or the database error.
   */
  recordAttempts<T>(ids: readonly string[], fn: (tx: StoreTx, current: ReadonlyMap<string, Delivery>) => T | Promise<T>): Promise<T>;
  /**
   * Records attempts that change nothing but their deliveries, in one statement: each delivery is
   * written only while `holder` still holds its claim and its `attempt_count` is still
   * `claimedAttemptCount` (no one recorded it meanwhile); the claim ends. Attempts that change their
   * subscription (`failing_since`, disabling) go through `recordAttempts` instead.
   * @returns the ids written; the others were deleted or are no longer this claim's.
   */
  recordClaimed(holder: string, records: ReadonlyArray<{ delivery: Delivery; claimedAttemptCount: number }>): Promise<Set<string>>;
  /**
   * One request start from the upstream request budget `key` (a hash naming a source's API key),
   * shared by every process: granted when fewer than `perMinute` starts were granted under `key` in
   * the last 60 s (database clock) and no pause holds it. Grants of one key take turns.
   * @returns 0 when granted (the start is counted), otherwise how long to wait before asking again (ms).
   */
  takeRequestSlot(key: string, perMinute: number): Promise<number>;
  /** Holds every process's requests under `key` until `untilMs` (epoch ms): an upstream 429's `Retry-After`. */
  pauseRequests(key: string, untilMs: number): Promise<void>;
  /** Pending deliveries of every process (the `/metrics` gauge). */
  countPending(): Promise<number>;
  /**
   * Calls `listener` with the ids of pending deliveries other processes committed (LISTEN/NOTIFY),
   * or with null when there were too many to name or notices may have been lost (reconnected).
   * @returns a function that stops listening.
   */
  onDeliveries(listener: (ids: string[] | null) => void): () => void;
}

/** A delivery claimed by `SharedStore.claimDue`, with what its attempt needs, read in the same transaction. */
export interface ClaimedDelivery {
  delivery: Delivery;
  /** Undefined only if the event is gone (never through retention, which keeps events with pending deliveries). */
  event: StoredEvent | undefined;
  /** The subscription as the claim saw it (active). */
  subscription: Subscription;
}

export interface ClaimBatch {
  /** Oldest due first. */
  claimed: ClaimedDelivery[];
  /**
   * When to ask again if `claimed` was short of `limit` (epoch ms): the earliest time a pending
   * delivery nobody holds becomes due, or a held claim expires; `now` when due deliveries were held
   * back (limits, ordering, locked); null when there is nothing pending at all.
   */
  nextAt: number | null;
}

export interface StoreCounts {
  subscriptions: number;
  api_keys: number;
  events: number;
  deliveries: Record<Delivery['status'], number>;
  audit: number;
  /** Snapshots per resource key (`cliniko:patients`). */
  snapshots: Record<string, number>;
}

export interface StoreHealth {
  writable: boolean;
  reason: string | null;
  /** Writes that failed since start (also counted in `/metrics`). */
  failedWrites: number;
}

/** A page of a newest-first listing; `next` is the id to pass as `before` for the next page, or null. */
export interface Page<T> {
  data: T[];
  next: string | null;
}

/** Filters of `listEvents`; all optional, combined with AND. */
export interface EventQuery {
  /** Only events whose id sorts below this one (the previous page's `next`). */
  before?: string;
  /** Page size; all matching events when absent. */
  limit?: number;
  /** Event type patterns as in a subscription's `event_types` (`*`, `attendee.*`, exact types). */
  types?: readonly string[];
  /** `data.resource`, e.g. `individual_appointment`. */
  resource?: string;
  /** `data.id`: the source record's id. */
  record_id?: string;
  /** Detected at or after this time. */
  since?: string;
  /** Detected before this time. */
  until?: string;
  /** Only events with a delivery to one of these subscriptions. */
  delivered_to?: readonly string[];
  /** Only events whose deliveries have not all been created yet (the dispatcher's backlog). */
  undispatched?: boolean;
}

/** Filters of `listDeliveries`; newest first. */
export interface DeliveryQuery {
  event_id?: string;
  subscription_id?: string;
  status?: Delivery['status'];
  before?: string;
  limit?: number;
}

export interface AuditQuery {
  before?: string;
  limit?: number;
  /** Only entries at or after this time. */
  since?: string;
  /** Only entries by this actor (an API key's own trail). */
  actor?: string;
}

/** Reads, available on the store and inside a transaction. Every method returns frozen values. */
export interface StoreReader {
  getSubscription(id: string): Promise<Subscription | undefined>;
  /** Every subscription, oldest first. */
  listSubscriptions(): Promise<Subscription[]>;

  getApiKey(id: string): Promise<ApiKey | undefined>;
  /** The key whose SHA-256 is `hash` (hex). */
  findApiKeyByHash(hash: string): Promise<ApiKey | undefined>;
  listApiKeys(): Promise<ApiKey[]>;

  /** A source resource's cursor and status, keyed `source:resource` (`cliniko:patients`). */
  getResource(key: string): Promise<ResourceState | undefined>;
  listResources(): Promise<Record<string, ResourceState>>;

  /** The last versions of these records of a resource (what the next read is diffed against). */
  getSnapshots(resource: string, ids: readonly string[]): Promise<Map<string, Snapshot>>;
  /** Ids of the records of a resource whose snapshot is not a deletion tombstone. */
  liveSnapshotIds(resource: string): Promise<string[]>;
  /** Every live snapshot of a resource, for feeds that compare a whole window (Esteem). */
  liveSnapshots(resource: string): AsyncIterable<[string, Snapshot]>;
  /** How many snapshots a resource has. */
  countSnapshots(resource: string): Promise<number>;

  getEvent(id: string): Promise<StoredEvent | undefined>;
  /** Events newest first. */
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;

  getDelivery(id: string): Promise<Delivery | undefined>;
  listDeliveries(query: DeliveryQuery): Promise<Page<Delivery>>;

  listAudit(query: AuditQuery): Promise<Page<AuditEntry>>;
}

/** Reads and writes inside one unit of work (`Store.transaction`). Writes replace whole values. */
export interface StoreTx extends StoreReader {
  putSubscription(sub: Subscription): void;
  /** Removes a subscription and every delivery of it. */
  deleteSubscription(id: string): Promise<void>;
  putApiKey(key: ApiKey): void;
  deleteApiKey(id: string): void;
  putResource(key: string, state: ResourceState): void;
  putSnapshot(resource: string, id: string, snapshot: Snapshot): void;
  deleteSnapshot(resource: string, id: string): void;
  /** Adds new events (in detection order). */
  appendEvents(events: readonly StoredEvent[]): void;
  /** Marks events dispatched: their deliveries exist (written in the same transaction). */
  markDispatched(ids: readonly string[]): void;
  putDelivery(delivery: Delivery): void;
  appendAudit(entry: AuditEntry): void;
}

/** Keyed id order of prefixed ULIDs: creation order. */
export function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

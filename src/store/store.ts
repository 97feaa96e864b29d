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

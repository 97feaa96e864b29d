import { copyFile, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { metrics } from '../metrics.js';
import { plainCodec, type Codec } from './codec.js';
import { DurableJsonFile, StoreCorruptError, syncDir } from './durable-file.js';
import { Journal, readJournal } from './journal.js';
import { acquireLock } from './lock.js';
import { auditPart, deliveryPart, JOURNAL_FILE, journalFile, META_PART, partFile, snapshotPart } from './layout.js';
import { RangeTable, type BucketContent, type BucketMeta, type TableCut } from './range-table.js';
import type { ApiKey, Attempt, AuditEntry, Delivery, ResourceState, Snapshot, StoreData, StoredEvent, Subscription } from './schema.js';
import type { EventEnvelope } from '../events/envelope.js';
import { emptyStore, withSubscriptionDefaults } from './schema.js';
import { matchesEventType } from '../delivery/match.js';
import { byCreation, deepFreeze, pageNewestFirst } from './page.js';
import {
  byId,
  type AuditQuery,
  type DeliveryQuery,
  type EventQuery,
  type Page,
  type Store,
  type StoreCounts,
  type StoreHealth,
  type StoreTx,
} from './store.js';

/**
 * `manifest.json`: which file holds each part at the last checkpoint, and its generation. Version 3
 * keeps snapshots and event bodies in range tables (`range-table.ts`); version 2 (one file per
 * resource's snapshots, events per hour) is migrated at the first start.
 */
interface Manifest {
  version: 2 | 3;
  gen: number;
  parts: Record<string, string>;
  /** Snapshot buckets per resource key (`cliniko:patients`). */
  snapshots?: Record<string, BucketMeta[]>;
  /** Event body buckets, by event id. */
  events?: BucketMeta[];
  /** Delivery attempt buckets, by delivery id. */
  attempts?: BucketMeta[];
}

/** One change in the journal: a whole entity's new value, or its removal (`v` absent). Replays are idempotent. */
type Op =
  | { t: 'sub'; id: string; v?: Subscription }
  | { t: 'res'; k: string; v?: ResourceState }
  | { t: 'snap'; k: string; id: string; v?: Snapshot }
  | { t: 'evt'; id: string; v?: StoredEvent }
  /** The event's deliveries exist. */
  | { t: 'dsp'; id: string }
  | { t: 'dlv'; id: string; v?: Delivery }
  | { t: 'aud'; id: string; v?: AuditEntry }
  | { t: 'key'; id: string; v?: ApiKey };

interface JournalLine {
  seq: number;
  ops: Op[];
}

type PartContent =
  | {
      kind: 'meta';
      subscriptions: StoreData['subscriptions'];
      resources: StoreData['resources'];
      api_keys?: StoreData['api_keys'];
      /** Ids of events not yet dispatched (version 3). */
      undispatched?: string[];
    }
  /** Version 2 only: read when migrating. */
  | { kind: 'snap'; key: string; snapshots: Record<string, Snapshot> }
  /** Version 2 only: read when migrating. */
  | { kind: 'evt'; events: StoredEvent[] }
  | { kind: 'dlv'; deliveries: Delivery[] }
  | { kind: 'aud'; entries: AuditEntry[] };

/** What listing and filtering events needs in memory; the body is on disk. */
interface EventMeta {
  id: string;
  type: string;
  timestamp: string;
  resource: string;
  record_id: string;
}

export interface StoreOptions {
  /** Encryption of every file (issue "Patient data"); plain JSON by default. */
  codec?: Codec;
  /** Checkpoint when the journal grows past this many bytes. */
  checkpointBytes?: number;
  /** Checkpoint at least this often while anything changed (ms). */
  checkpointIntervalMs?: number;
  /** Open for inspection only: never truncates, writes or checkpoints (`npm run store -- check`). */
  readOnly?: boolean;
  /** A snapshot or event bucket file is split when it grows past this (bytes of JSON). */
  maxBucketBytes?: number;
}

/** Bucket files stay small: a checkpoint after a few changes rewrites little, a read parses little. */
const MAX_BUCKET_BYTES = 128 * 1024;
/** Parsed buckets kept per table for reads. */
const CACHE_BUCKETS = 16;

const SEP = '\u0000';

/**
 * The embedded store (docs/storage.md): lowdb part files (a checkpoint) plus an append-only journal
 * of every change since.
 *
 * Memory holds what is small and hot (subscriptions, API keys, cursors, deliveries, audit, and per
 * event the fields listings filter on); snapshots and event bodies live in range tables on disk
 * whose bucket files split as they grow, so neither memory nor a checkpoint grows with the account.
 *
 * A transaction applies its writes in memory and appends the new values as one fsynced journal line,
 * so all changes made together (the poller's events, snapshots and cursor) become durable together.
 * Transactions arriving while a line is being written share the next one (group commit).
 *
 * A checkpoint writes the changed parts and buckets to new files, then switches `manifest.json` to
 * them in one rename; the previous manifest stays as `manifest.json.bak` with every file and journal
 * it needs.
 */
export class LowdbStore implements Store {
  private data: StoreData = emptyStore();
  readonly dir: string;
  /** Write counts and durations (ms), for logs, metrics and benchmarks. */
  readonly stats = { commits: 0, lastCommitMs: 0, checkpoints: 0, lastCheckpointMs: 0, tornTailDropped: false, failedWrites: 0 };

  private codec: Codec;
  private readonly options: Required<Omit<StoreOptions, 'codec'>>;
  /** Per resource key, its snapshots. */
  private readonly snapshotTables = new Map<string, RangeTable<Snapshot>>();
  /** Event bodies by id. */
  private events!: RangeTable<EventEnvelope>;
  /** Each delivery's attempts, by delivery id; memory keeps deliveries without them. */
  private attempts!: RangeTable<Attempt[]>;
  /** Every retained event's listing fields, in id (detection) order, and by id. */
  private eventList: EventMeta[] = [];
  private readonly eventIndex = new Map<string, EventMeta>();
  /** Events whose deliveries are not created yet. */
  private readonly undispatched = new Set<string>();
  /** Codec of files being read while `reencode` rewrites them with another. */
  private readCodec: Codec;
  private readonly auditIndex = new Map<string, AuditEntry>();
  /** Delivery ids by event and by subscription, so per-event and per-subscription views read only their own. */
  private readonly deliveriesByEvent = new Map<string, Set<string>>();
  private readonly deliveriesBySubscription = new Map<string, Set<string>>();
  /** Entities changed since the last commit: `kind\0key[\0id]`. */
  private pending = new Set<string>();
  /** How to undo the changes in `pending`, in the order they were made. */
  private pendingUndo: Array<() => void> = [];
  /** Parts changed since the last checkpoint cut. */
  private dirtyParts = new Set<string>();
  /** Part of each event/delivery, remembered so a removal dirties the right part. */
  private readonly partOf = new Map<string, string>();
  private manifest: Manifest = { version: 3, gen: 0, parts: {} };
  private gen = 0;
  private seq = 0;
  private journal: Journal | null = null;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private checkpointing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
  /** Bytes the last checkpoint wrote. */
  /** Bytes the last checkpoint wrote. */
  lastCheckpointBytes = 0;
  /** The last write error, until a write succeeds again. */
  private writeError: string | null = null;

  constructor(dataDir: string, options: StoreOptions = {}) {
    this.dir = dataDir;
    this.codec = options.codec ?? plainCodec;
    this.readCodec = this.codec;
    this.options = {
      checkpointBytes: options.checkpointBytes ?? 16 * 1024 * 1024,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 5 * 60_000,
      readOnly: options.readOnly ?? false,
      maxBucketBytes: options.maxBucketBytes ?? MAX_BUCKET_BYTES,
    };
    this.events = this.table<EventEnvelope>('evt', []);
    this.attempts = this.table<Attempt[]>('att', []);
  }

  get file(): string {
    return join(this.dir, 'manifest.json');
  }

  /**
   * Loads the last checkpoint and replays the journals written since.
   * @throws StoreCorruptError naming the file when a manifest, part or journal line cannot be read;
   *   nothing is modified then.
   */
  async load(): Promise<void> {
    if (!this.options.readOnly) {
      await mkdir(this.dir, { recursive: true });
      this.releaseLock = await acquireLock(this.dir);
    }
    try {
      await this.loadFiles();
    } catch (err) {
      await this.releaseLock?.();
      this.releaseLock = null;
      throw err;
    }
  }

  private async loadFiles(): Promise<void> {
    const manifestDb = new Low<Manifest | null>(new DurableJsonFile<Manifest | null>(this.file, this.codec), null);
    await manifestDb.read();
    const manifest = manifestDb.data;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    if (!manifest && names.some((n) => /^(snap|evt|dlv|aud|meta)\..*\.json$/.test(n))) {
      throw new StoreCorruptError(this.file, new Error('manifest.json is missing but part files exist'));
    }
    if (
      manifest &&
      ((manifest.version !== 2 && manifest.version !== 3) || typeof manifest.gen !== 'number' || typeof manifest.parts !== 'object')
    ) {
      throw new StoreCorruptError(this.file, new Error('not a store manifest'));
    }
    this.manifest = manifest ?? { version: 3, gen: 0, parts: {} };
    // A version 2 store is read whole once and written as version 3 by the first checkpoint; its
    // files stay until that checkpoint's manifest is on disk, so an interrupted migration reruns.
    const migrating = this.manifest.version === 2;

    const data = emptyStore();
    const undispatched: string[] = [];
    for (const [part, fileName] of Object.entries(this.manifest.parts)) {
      const content = await this.readPart(fileName);
      if (content.kind === 'meta') undispatched.push(...(content.undispatched ?? []));
      this.loadPart(data, part, content);
    }
    this.data = data;
    for (const [key, buckets] of Object.entries(this.manifest.snapshots ?? {}))
      this.snapshotTables.set(key, this.table<Snapshot>(snapshotPart(key), buckets, isLiveSnapshot));
    this.events = this.table<EventEnvelope>('evt', this.manifest.events ?? []);
    this.attempts = this.table<Attempt[]>('att', this.manifest.attempts ?? []);
    for await (const [, payload] of this.events.entries()) this.indexEvent(payload);
    for (const id of undispatched) if (this.eventIndex.has(id)) this.undispatched.add(id);
    // Version 2 parts loaded whole into the tables' pending changes.
    for (const [key, snapshots] of Object.entries(data.snapshots))
      for (const [id, snap] of Object.entries(snapshots)) this.tableOf(key).put(id, snap);
    for (const e of data.events) this.applyEvent(e.payload.id, e);
    // Version 2 kept attempts inside each delivery.
    for (const d of Object.values(data.deliveries)) if (d.attempts.length > 0) this.setDelivery(d);
    data.snapshots = {};
    data.events = [];
    this.reindex();

    const journals = names
      .map((n) => JOURNAL_FILE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .filter((g) => g >= this.manifest.gen)
      .sort((a, b) => a - b);
    // Temp files of writes a crash interrupted before their rename: the targets are intact.
    if (!this.options.readOnly) for (const n of names) if (/^\..*\.tmp$/.test(n)) await unlink(join(this.dir, n)).catch(() => undefined);
    const replayed = new Set<string>();
    for (const g of journals) {
      const file = join(this.dir, journalFile(g));
      const { lines, tornTail } = await readJournal<JournalLine>(file, this.codec.decode, !this.options.readOnly);
      if (tornTail) this.stats.tornTailDropped = true;
      for (const line of lines) {
        this.seq = Math.max(this.seq, line.seq);
        for (const op of line.ops) {
          replayed.add(this.partOfOp(op));
          this.apply(op);
        }
      }
    }
    this.eventList.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.data.audit.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const [id, sub] of Object.entries(this.data.subscriptions)) this.data.subscriptions[id] = withSubscriptionDefaults(sub);
    for (const v of Object.values(this.data.subscriptions)) deepFreeze(v);
    for (const v of Object.values(this.data.api_keys)) deepFreeze(v);
    for (const v of Object.values(this.data.resources)) deepFreeze(v);
    for (const d of Object.values(this.data.deliveries)) deepFreeze(d);
    for (const e of this.data.audit) deepFreeze(e);
    this.reindex();

    this.gen = Math.max(this.manifest.gen, ...journals, 0);
    if (this.options.readOnly) return;
    // What was replayed lives only in the journal: the next checkpoint must write those parts.
    for (const part of replayed) this.dirtyParts.add(part);
    this.journal = new Journal(join(this.dir, journalFile(this.gen)));
    if (migrating) {
      for (const part of Object.keys(this.manifest.parts)) this.dirtyParts.add(part);
      await this.checkpoint();
    }
    this.timer = setInterval(() => {
      if (this.hasUncheckpointed()) void this.checkpoint().catch(() => undefined);
    }, this.options.checkpointIntervalMs);
    this.timer.unref();
  }

  /** A range table of this store: its buckets are lowdb part files in the data directory. */
  private table<V>(name: string, buckets: BucketMeta[], counted?: (v: V) => boolean): RangeTable<V> {
    return new RangeTable<V>(
      {
        name,
        read: async (file) => {
          const content = (await this.readPart(file)) as unknown as BucketContent<V>;
          if (content.kind !== 'range') throw new StoreCorruptError(join(this.dir, file), new Error('not a bucket file'));
          return content;
        },
        // The checkpoint fsyncs the directory once, before its manifest names these files.
        write: (file, json) => new DurableJsonFile(join(this.dir, file), this.codec).writeText(this.codec.encode(json), { syncDir: false }),
        maxBucketBytes: this.options.maxBucketBytes,
        cacheBuckets: CACHE_BUCKETS,
        counted,
      },
      buckets,
    );
  }

  /** Reads a part or bucket file through lowdb. @throws StoreCorruptError when it is missing or unreadable. */
  private async readPart(fileName: string): Promise<PartContent> {
    const db = new Low<PartContent | null>(new DurableJsonFile<PartContent | null>(join(this.dir, fileName), this.readCodec), null);
    await db.read();
    if (!db.data) throw new StoreCorruptError(join(this.dir, fileName), new Error('listed in manifest.json but missing'));
    return db.data;
  }

  private tableOf(key: string): RangeTable<Snapshot> {
    let t = this.snapshotTables.get(key);
    if (!t) this.snapshotTables.set(key, (t = this.table<Snapshot>(snapshotPart(key), [], isLiveSnapshot)));
    return t;
  }

  private hasUncheckpointed(): boolean {
    return (
      this.dirtyParts.size > 0 || this.events.isDirty || this.attempts.isDirty || [...this.snapshotTables.values()].some((t) => t.isDirty)
    );
  }

  // ---- reads (Store) ---------------------------------------------------------------------------

  async getSubscription(id: string): Promise<Subscription | undefined> {
    return this.data.subscriptions[id];
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return Object.values(this.data.subscriptions).sort(byCreation);
  }

  async getApiKey(id: string): Promise<ApiKey | undefined> {
    return this.data.api_keys[id];
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | undefined> {
    return Object.values(this.data.api_keys).find((k) => k.hash === hash);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return Object.values(this.data.api_keys).sort(byCreation);
  }

  async getResource(key: string): Promise<ResourceState | undefined> {
    return this.data.resources[key];
  }

  async listResources(): Promise<Record<string, ResourceState>> {
    return { ...this.data.resources };
  }

  async getSnapshots(resource: string, ids: readonly string[]): Promise<Map<string, Snapshot>> {
    const table = this.snapshotTables.get(resource);
    return table ? table.get(ids) : new Map();
  }

  async liveSnapshotIds(resource: string): Promise<string[]> {
    const out: string[] = [];
    for await (const [id] of this.liveSnapshots(resource)) out.push(id);
    return out;
  }

  async *liveSnapshots(resource: string): AsyncIterable<[string, Snapshot]> {
    const table = this.snapshotTables.get(resource);
    if (!table) return;
    for await (const [id, s] of table.entries()) if (isLiveSnapshot(s)) yield [id, s];
  }

  async countSnapshots(resource: string): Promise<number> {
    return (await this.snapshotTables.get(resource)?.count())?.count ?? 0;
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    if (!this.eventIndex.has(id)) return undefined;
    return this.eventsByIds([id]).then((list) => list[0]);
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const since = query.since ?? '';
    const until = query.until ?? '\uffff';
    let delivered: Set<string> | null = null;
    if (query.delivered_to) {
      delivered = new Set();
      for (const subId of query.delivered_to)
        for (const dId of this.deliveriesBySubscription.get(subId) ?? []) delivered.add(this.data.deliveries[dId]!.event_id);
    }
    const keep = (e: EventMeta) =>
      (!query.undispatched || this.undispatched.has(e.id)) &&
      (!query.types || matchesEventType(query.types, e.type)) &&
      (!query.resource || e.resource === query.resource) &&
      (!query.record_id || e.record_id === query.record_id) &&
      e.timestamp >= since &&
      e.timestamp < until &&
      (!delivered || delivered.has(e.id));
    const page = pageNewestFirst(this.eventList, (e) => e.id, keep, query.limit, query.before);
    return { data: await this.eventsByIds(page.data.map((e) => e.id)), next: page.next };
  }

  /** Events with their bodies read from disk (or pending changes), in the order of `ids`. */
  private async eventsByIds(ids: readonly string[]): Promise<StoredEvent[]> {
    const bodies = await this.events.get(ids);
    const out: StoredEvent[] = [];
    for (const id of ids) {
      const payload = bodies.get(id);
      if (payload) out.push(deepFreeze({ payload, dispatched: !this.undispatched.has(id) }));
    }
    return out;
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const d = this.data.deliveries[id];
    return d ? (await this.withAttempts([d]))[0] : undefined;
  }

  /** Deliveries with their attempts read back from the attempts table. */
  private async withAttempts(list: readonly Delivery[]): Promise<Delivery[]> {
    const attempts = await this.attempts.get(list.map((d) => d.id));
    return list.map((d) => deepFreeze({ ...d, attempts: attempts.get(d.id) ?? [] }));
  }

  async listDeliveries(query: DeliveryQuery): Promise<Page<Delivery>> {
    let source: Delivery[];
    if (query.event_id !== undefined) source = this.deliveriesIn(this.deliveriesByEvent.get(query.event_id));
    else if (query.subscription_id !== undefined) source = this.deliveriesIn(this.deliveriesBySubscription.get(query.subscription_id));
    else source = Object.values(this.data.deliveries).sort(byId);
    const keep = (d: Delivery) =>
      (query.subscription_id === undefined || d.subscription_id === query.subscription_id) && (!query.status || d.status === query.status);
    const page = pageNewestFirst(source, (d) => d.id, keep, query.limit, query.before);
    return { data: await this.withAttempts(page.data), next: page.next };
  }

  async listAudit(query: AuditQuery): Promise<Page<AuditEntry>> {
    return pageNewestFirst(
      this.data.audit,
      (e) => e.id,
      (e) => (!query.actor || e.actor === query.actor) && (!query.since || e.at >= query.since),
      query.limit,
      query.before,
    );
  }

  // ---- writes (Store) --------------------------------------------------------------------------

  /**
   * Runs `fn` with a transaction whose writes are applied to memory as they are made (so reads
   * through it, and through the store, see them) and undone if `fn` throws; then commits them as one
   * journal line. Transactions are not isolated from each other: this is one process and writers are
   * short. When the journal write fails (disk full) the transaction is undone and the promise
   * rejects, so the caller does not go on as if its changes were durable.
   */
  async transaction<T>(fn: (tx: StoreTx) => T | Promise<T>): Promise<T> {
    if (this.options.readOnly) throw new Error('store is open read-only');
    const undo: Array<() => void> = [];
    const tx = this.txFor(undo);
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw err;
    } finally {
      tx.closed = true;
    }
    // A loop, not push(...undo): an import's transaction can hold more entries than call arguments.
    for (const u of undo) this.pendingUndo.push(u);
    await this.commit();
    return result;
  }

  async compact(cutoff: string): Promise<{ events: number; deliveries: number; audit: number }> {
    const byEvent = new Map<string, string[]>();
    const keep = new Set<string>();
    for (const d of Object.values(this.data.deliveries)) {
      if (d.status !== 'succeeded') keep.add(d.event_id);
      const list = byEvent.get(d.event_id);
      if (list) list.push(d.id);
      else byEvent.set(d.event_id, [d.id]);
    }
    const drop = new Set<string>();
    for (const e of this.eventList) {
      // Events are in detection order: stop at the first one inside the retention window.
      if (e.timestamp >= cutoff) break;
      if (!this.undispatched.has(e.id) && !keep.has(e.id)) drop.add(e.id);
    }
    let deliveries = 0;
    for (const id of drop) {
      for (const dId of byEvent.get(id) ?? []) {
        this.removeDelivery(dId);
        deliveries += 1;
      }
    }
    this.dropEvents(drop);
    const audit = this.dropAuditBefore(cutoff);
    if (drop.size > 0 || audit > 0) await this.commit();
    return { events: drop.size, deliveries, audit };
  }

  /**
   * Everything the store holds, as copies of its maps and lists holding the (frozen) stored values:
   * for `npm run store`, export and tests. Costs memory in proportion to the store.
   */
  async dump(): Promise<Readonly<StoreData>> {
    const snapshots: StoreData['snapshots'] = {};
    for (const [key, table] of this.snapshotTables) {
      const map: Record<string, Snapshot> = {};
      for await (const [id, snap] of table.entries()) map[id] = snap;
      snapshots[key] = map;
    }
    return {
      version: 1,
      subscriptions: { ...this.data.subscriptions },
      resources: { ...this.data.resources },
      snapshots,
      events: await this.eventsByIds(this.eventList.map((e) => e.id)),
      deliveries: Object.fromEntries((await this.withAttempts(Object.values(this.data.deliveries))).map((d) => [d.id, d])),
      audit: [...this.data.audit],
      api_keys: { ...this.data.api_keys },
    };
  }

  async counts(): Promise<StoreCounts> {
    const deliveries = { pending: 0, succeeded: 0, failed: 0 };
    for (const d of Object.values(this.data.deliveries)) deliveries[d.status] += 1;
    const snapshots: Record<string, number> = {};
    for (const [key, table] of this.snapshotTables) snapshots[key] = (await table.count()).count;
    return {
      subscriptions: Object.keys(this.data.subscriptions).length,
      api_keys: Object.keys(this.data.api_keys).length,
      events: this.eventList.length,
      deliveries,
      audit: this.data.audit.length,
      snapshots,
    };
  }

  async sizeBytes(): Promise<number | null> {
    let total = 0;
    for (const name of await readdir(this.dir)) total += (await stat(join(this.dir, name)).catch(() => ({ size: 0 }))).size;
    return total;
  }

  /**
   * What memory holds of the tables: records changed since the last checkpoint and buckets parsed
   * for reads. Neither grows with the account (tests and benchmarks check it).
   */
  memory(): { pendingRecords: number; cachedBuckets: number; tables: number; buckets: number; largestBucketBytes: number } {
    const tables = [this.events, this.attempts, ...this.snapshotTables.values()];
    const all = tables.flatMap((t) => t.bucketList);
    return {
      pendingRecords: tables.reduce((n, t) => n + t.pendingCount, 0),
      cachedBuckets: tables.reduce((n, t) => n + t.cachedCount, 0),
      tables: tables.length,
      buckets: all.length,
      largestBucketBytes: Math.max(0, ...all.map((b) => b.bytes)),
    };
  }

  health(): StoreHealth {
    return { writable: this.writeError === null, reason: this.writeError, failedWrites: this.stats.failedWrites };
  }

  get location(): string {
    return this.dir;
  }

  /** The writes of one transaction; each records how to undo itself. */
  private txFor(undo: Array<() => void>): StoreTx & { closed: boolean } {
    const guard = () => {
      if (tx.closed) throw new Error('transaction already finished');
    };
    const tx: StoreTx & { closed: boolean } = {
      closed: false,
      getSubscription: (id) => this.getSubscription(id),
      listSubscriptions: () => this.listSubscriptions(),
      getApiKey: (id) => this.getApiKey(id),
      findApiKeyByHash: (hash) => this.findApiKeyByHash(hash),
      listApiKeys: () => this.listApiKeys(),
      getResource: (key) => this.getResource(key),
      listResources: () => this.listResources(),
      getSnapshots: (resource, ids) => this.getSnapshots(resource, ids),
      liveSnapshotIds: (resource) => this.liveSnapshotIds(resource),
      liveSnapshots: (resource) => this.liveSnapshots(resource),
      countSnapshots: (resource) => this.countSnapshots(resource),
      getEvent: (id) => this.getEvent(id),
      listEvents: (q) => this.listEvents(q),
      getDelivery: (id) => this.getDelivery(id),
      listDeliveries: (q) => this.listDeliveries(q),
      listAudit: (q) => this.listAudit(q),
      putSubscription: (sub) => {
        guard();
        const before = this.data.subscriptions[sub.id];
        this.setSubscription(sub.id, deepFreeze(sub));
        undo.push(() => this.setSubscription(sub.id, before));
      },
      deleteSubscription: async (id) => {
        guard();
        const before = this.data.subscriptions[id];
        const deliveries = await this.withAttempts(this.deliveriesIn(this.deliveriesBySubscription.get(id)));
        this.setSubscription(id, undefined);
        for (const d of deliveries) this.removeDelivery(d.id);
        undo.push(() => {
          this.setSubscription(id, before);
          for (const d of deliveries) this.setDelivery(d);
        });
      },
      putApiKey: (key) => {
        guard();
        const before = this.data.api_keys[key.id];
        this.setApiKey(key.id, deepFreeze(key));
        undo.push(() => this.setApiKey(key.id, before));
      },
      deleteApiKey: (id) => {
        guard();
        const before = this.data.api_keys[id];
        this.setApiKey(id, undefined);
        undo.push(() => this.setApiKey(id, before));
      },
      putResource: (key, state) => {
        guard();
        const before = this.data.resources[key];
        this.setResource(key, deepFreeze(state));
        undo.push(() => this.setResource(key, before));
      },
      putSnapshot: (resource, id, snapshot) => {
        guard();
        const table = this.tableOf(resource);
        const before = table.peek(id);
        this.setSnapshot(resource, id, deepFreeze(snapshot));
        undo.push(() => this.restoreSnapshot(resource, id, before));
      },
      deleteSnapshot: (resource, id) => {
        guard();
        const before = this.tableOf(resource).peek(id);
        this.setSnapshot(resource, id, null);
        undo.push(() => this.restoreSnapshot(resource, id, before));
      },
      appendEvents: (events) => {
        guard();
        for (const e of events) this.applyEvent(e.payload.id, deepFreeze({ payload: e.payload, dispatched: e.dispatched }));
        undo.push(() => this.dropEvents(new Set(events.map((e) => e.payload.id))));
      },
      markDispatched: (ids) => {
        guard();
        for (const id of ids) {
          if (!this.undispatched.has(id)) continue;
          this.setDispatched(id, true);
          undo.push(() => this.setDispatched(id, false));
        }
      },
      putDelivery: (delivery) => {
        guard();
        const before = this.data.deliveries[delivery.id];
        const beforeAttempts = this.attempts.peek(delivery.id);
        this.setDelivery(deepFreeze(delivery));
        undo.push(() => {
          if (before) this.setDelivery(before, false);
          else this.removeDelivery(delivery.id);
          // Back to the pending attempts it replaced, or to what is on disk.
          if (beforeAttempts === undefined) this.attempts.forget(delivery.id);
          else this.attempts.put(delivery.id, beforeAttempts);
        });
      },
      appendAudit: (entry) => {
        guard();
        this.addAudit(deepFreeze(entry));
        undo.push(() => this.removeAudit(entry.id));
      },
    };
    return tx;
  }

  // ---- in-memory changes (each marks what the next commit writes) -------------------------------

  private setSubscription(id: string, sub: Subscription | undefined): void {
    if (sub) this.data.subscriptions[id] = sub;
    else delete this.data.subscriptions[id];
    this.mark(`sub${SEP}${id}`, META_PART);
  }

  private setApiKey(id: string, key: ApiKey | undefined): void {
    if (key) this.data.api_keys[id] = key;
    else delete this.data.api_keys[id];
    this.mark(`key${SEP}${id}`, META_PART);
  }

  private setResource(key: string, state: ResourceState | undefined): void {
    if (state) this.data.resources[key] = state;
    else delete this.data.resources[key];
    this.mark(`res${SEP}${key}`, META_PART);
  }

  private setSnapshot(resource: string, id: string, snapshot: Snapshot | null): void {
    this.tableOf(resource).put(id, snapshot);
    this.mark(`snap${SEP}${resource}${SEP}${id}`, snapshotPart(resource));
  }

  /** Undoes a snapshot change: back to the pending value it replaced, or to what is on disk. */
  private restoreSnapshot(resource: string, id: string, before: Snapshot | null | undefined): void {
    const table = this.tableOf(resource);
    if (before === undefined) table.forget(id);
    else table.put(id, before);
    this.mark(`snap${SEP}${resource}${SEP}${id}`, snapshotPart(resource));
  }

  /** Adds an event (a new one, or one replayed from the journal). */
  private applyEvent(id: string, e: StoredEvent): void {
    if (!this.eventIndex.has(id)) this.indexEvent(e.payload, true);
    this.events.put(id, e.payload);
    if (e.dispatched) this.undispatched.delete(id);
    else this.undispatched.add(id);
    this.mark(`evt${SEP}${id}`, 'evt');
  }

  private indexEvent(payload: EventEnvelope, append = false): void {
    const meta: EventMeta = {
      id: payload.id,
      type: payload.type,
      timestamp: payload.timestamp,
      resource: payload.data.resource,
      record_id: payload.data.id,
    };
    this.eventIndex.set(meta.id, meta);
    const last = this.eventList[this.eventList.length - 1];
    this.eventList.push(meta);
    // Ids are ULIDs: new events arrive in order; a replayed one out of order is sorted in after load.
    if (append && last && last.id > meta.id) this.eventList.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private setDispatched(id: string, dispatched: boolean): void {
    if (dispatched) this.undispatched.delete(id);
    else this.undispatched.add(id);
    this.mark(`dsp${SEP}${id}`, META_PART);
  }

  /** Removes events (retention, or undoing a transaction). */
  private dropEvents(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const id of ids) {
      this.events.put(id, null);
      this.eventIndex.delete(id);
      this.undispatched.delete(id);
      this.mark(`evt${SEP}${id}`, 'evt');
    }
    this.eventList = this.eventList.filter((e) => !ids.has(e.id));
  }

  /** Keeps a delivery in memory without its attempts, which go to the attempts table (unless `withAttempts` is false). */
  private setDelivery(d: Delivery, withAttempts = true): void {
    const old = this.data.deliveries[d.id];
    if (old) this.unindexDelivery(old);
    if (withAttempts) this.attempts.put(d.id, d.attempts);
    this.data.deliveries[d.id] = d.attempts.length === 0 ? d : deepFreeze({ ...d, attempts: [] });
    this.indexDelivery(d);
    this.markDelivery(d.id);
  }

  private markDelivery(id: string): void {
    const d = this.data.deliveries[id];
    const key = `dlv${SEP}${id}`;
    if (d) this.partOf.set(key, deliveryPart(d.created_at));
    this.mark(key, this.partOf.get(key) ?? META_PART);
  }

  private removeDelivery(id: string): void {
    this.markDelivery(id);
    const d = this.data.deliveries[id];
    if (d) this.unindexDelivery(d);
    delete this.data.deliveries[id];
    this.attempts.put(id, null);
  }

  private unindexDelivery(d: Delivery): void {
    // Empty sets go too: retention removes events for good, and their keys with them.
    for (const [index, key] of [
      [this.deliveriesByEvent, d.event_id],
      [this.deliveriesBySubscription, d.subscription_id],
    ] as const) {
      const ids = index.get(key);
      ids?.delete(d.id);
      if (ids?.size === 0) index.delete(key);
    }
  }

  private indexDelivery(d: Delivery): void {
    let byEvent = this.deliveriesByEvent.get(d.event_id);
    if (!byEvent) this.deliveriesByEvent.set(d.event_id, (byEvent = new Set()));
    byEvent.add(d.id);
    let bySubscription = this.deliveriesBySubscription.get(d.subscription_id);
    if (!bySubscription) this.deliveriesBySubscription.set(d.subscription_id, (bySubscription = new Set()));
    bySubscription.add(d.id);
  }

  private deliveriesIn(ids: ReadonlySet<string> | undefined): Delivery[] {
    const out: Delivery[] = [];
    for (const id of ids ?? []) {
      const d = this.data.deliveries[id];
      if (d) out.push(d);
    }
    return out.sort(byId);
  }

  private addAudit(entry: AuditEntry): void {
    this.data.audit.push(entry);
    this.auditIndex.set(entry.id, entry);
    this.mark(`aud${SEP}${entry.id}`, auditPart(entry.at));
  }

  private removeAudit(id: string): void {
    const e = this.auditIndex.get(id);
    if (!e) return;
    this.auditIndex.delete(id);
    this.data.audit = this.data.audit.filter((x) => x.id !== id);
    this.mark(`aud${SEP}${id}`, auditPart(e.at));
  }

  /** Drops audit entries older than `cutoff` (ISO time): retention. @returns how many. */
  private dropAuditBefore(cutoff: string): number {
    let n = 0;
    while (n < this.data.audit.length && this.data.audit[n]!.at < cutoff) n += 1;
    for (const e of this.data.audit.slice(0, n)) {
      this.auditIndex.delete(e.id);
      this.mark(`aud${SEP}${e.id}`, auditPart(e.at));
    }
    this.data.audit.splice(0, n);
    return n;
  }

  // ---- durability ------------------------------------------------------------------------------

  /**
   * Makes every change recorded so far durable: resolves once a journal line holding them is fsynced.
   * Concurrent commits share a line.
   * @throws the file system error if the write failed; the changes stay pending for the next commit.
   */
  /**
   * Makes every change applied so far durable: resolves once a journal line holding them is
   * fsynced. Concurrent commits share a line. When the write fails, every transaction in that line is
   * undone in memory (latest first) and the error is thrown: nothing is visible that is not on disk.
   */
  private commit(): Promise<void> {
    if (this.options.readOnly) return Promise.reject(new Error('store is open read-only'));
    if (this.queued) return this.queued;
    const previous = this.inFlight;
    // Assigned below, before the body's first await resumes.
    const slot: { self?: Promise<void> } = {};
    const next = (async () => {
      // Always yield before collecting: `this.queued` must be assigned (below) before it is cleared
      // here, and commits made in the same tick share this line.
      await (previous ?? Promise.resolve()).catch(() => undefined);
      this.queued = null;
      // `flush()` waits for this line from here on, while its values are gathered and written.
      this.inFlight = slot.self ?? null;
      if (this.pending.size === 0) {
        this.inFlight = null;
        return;
      }
      const keys = this.pending;
      const undos = this.pendingUndo;
      this.pending = new Set();
      this.pendingUndo = [];
      const started = performance.now();
      let write: Promise<void>;
      try {
        const ops = await Promise.all([...keys].map((k) => this.opFor(k)));
        const line = this.codec.encode(JSON.stringify({ seq: ++this.seq, ops } satisfies JournalLine));
        write = this.journal!.append(line);
        await write;
        this.stats.commits += 1;
        this.stats.lastCommitMs = performance.now() - started;
        metrics.storeCommit.observe(this.stats.lastCommitMs / 1000);
        this.writeError = null;
      } catch (err) {
        // Whatever no transaction can undo (retention) is written by the next line instead.
        for (const k of keys) this.pending.add(k);
        for (let i = undos.length - 1; i >= 0; i--) undos[i]!();
        this.stats.failedWrites += 1;
        metrics.storeWriteFailures.inc();
        this.writeError = `journal write failed: ${err instanceof Error ? err.message : String(err)}`;
        throw err;
      } finally {
        if (this.inFlight === slot.self) this.inFlight = null;
      }
      if (this.journal!.size > this.options.checkpointBytes) {
        const running = this.checkpointing ?? this.checkpoint();
        running.catch(() => undefined);
        // Backpressure: writers wait for a checkpoint that cannot keep up, so no journal outgrows the
        // bound on store files (a few times `checkpointBytes`, far below 64 MiB).
        if (this.journal!.size > 3 * this.options.checkpointBytes) await running.catch(() => undefined);
      }
    })();
    slot.self = next;
    this.queued = next;
    return next;
  }

  /**
   * Writes every part changed since the last checkpoint to new files and switches `manifest.json` to
   * them atomically; older files and journals no longer needed by the current or backup manifest are
   * removed. Commits continue meanwhile (into the next journal).
   */
  checkpoint(): Promise<void> {
    if (this.options.readOnly) return Promise.resolve();
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(rewriteAll = false): Promise<void> {
    const started = performance.now();
    // The cut: one synchronous step serialises every changed in-memory part and takes every table's
    // changes, so together they are a consistent view, and later commits go to the next journal.
    // Changes still pending are in the cut and will also be journaled; replaying them is harmless
    // (every op is a whole value).
    const parts = [...this.dirtyParts].filter((p) => p === META_PART || p.startsWith('dlv.') || p.startsWith('aud.'));
    this.dirtyParts = new Set();
    const contents = this.partContents(new Set(parts)).map(({ part, content }) => ({
      part,
      empty: isEmptyPart(content),
      text: isEmptyPart(content) ? '' : this.codec.encode(JSON.stringify(content)),
    }));
    const tables: Array<[string | null, RangeTable<Snapshot> | RangeTable<EventEnvelope> | RangeTable<Attempt[]>]> = [
      [null, this.events],
      [ATTEMPTS, this.attempts],
      ...this.snapshotTables,
    ];
    const cuts = tables.map(([key, table]) => ({ key, table, cut: table.cut() as TableCut<never> }));
    const newGen = this.gen + 1;
    this.gen = newGen;
    const oldJournal = this.journal!;
    this.journal = new Journal(join(this.dir, journalFile(newGen)));
    // A commit collected before the cut may still be writing to the old journal.
    await this.inFlight?.catch(() => undefined);
    await oldJournal.close();

    try {
      const manifest: Manifest = { version: 3, gen: newGen, parts: { ...this.manifest.parts }, snapshots: {}, events: [], attempts: [] };
      // Version 2 parts are replaced by the tables.
      for (const part of Object.keys(manifest.parts)) if (part.startsWith('snap.') || part.startsWith('evt.')) delete manifest.parts[part];
      let bytes = contents.reduce((n, c) => n + c.text.length, 0);
      for (const { part, empty, text } of contents) {
        if (empty) {
          delete manifest.parts[part];
          continue;
        }
        const fileName = partFile(part, newGen);
        await new DurableJsonFile<PartContent>(join(this.dir, fileName), this.codec).writeText(text, { syncDir: false });
        manifest.parts[part] = fileName;
      }
      const written: Array<{ key: string | null; buckets: BucketMeta[] }> = [];
      for (const { key, table, cut } of cuts) {
        const result = await table.write(cut, newGen, rewriteAll);
        bytes += result.bytes;
        written.push({ key, buckets: result.buckets });
        if (key === null) manifest.events = result.buckets;
        else if (key === ATTEMPTS) manifest.attempts = result.buckets;
        else if (result.buckets.length > 0) manifest.snapshots![key] = result.buckets;
      }
      // Every new file's name is durable before the manifest that lists it.
      await syncDir(this.dir);
      this.lastCheckpointBytes = bytes;
      // Keep the previous checkpoint as the backup, then switch in one rename.
      const backup = this.manifest;
      if (backup.gen > 0 || Object.keys(backup.parts).length > 0) {
        await copyFile(this.file, `${this.file}.bak`);
        const bak = await open(`${this.file}.bak`, 'r+');
        await bak.sync().finally(() => bak.close());
      }
      await new Low<Manifest>(new DurableJsonFile<Manifest>(this.file, this.codec), manifest).write();
      this.manifest = manifest;
      cuts.forEach(({ table, cut }, i) => table.switchTo(cut, written[i]!.buckets));
      await this.removeUnreferenced(backup, manifest);
      this.stats.checkpoints += 1;
      this.stats.lastCheckpointMs = performance.now() - started;
    } catch (err) {
      for (const part of parts) this.dirtyParts.add(part);
      for (const { table, cut } of cuts) table.abort(cut);
      this.stats.failedWrites += 1;
      metrics.storeWriteFailures.inc();
      throw err;
    }
  }

  /**
   * Rewrites the whole store with another codec (`npm run store -- encrypt|decrypt|rekey`): every
   * part and bucket is written anew, then every file of the old encoding — backup manifest and
   * journals included — is removed, so no plaintext (or old-key) copy is left behind.
   */
  async reencode(codec: Codec): Promise<void> {
    await this.flush();
    if (this.pending.size > 0) await this.commit();
    await this.checkpointing?.catch(() => undefined);
    this.readCodec = this.codec;
    this.codec = codec;
    for (const part of this.allParts()) this.dirtyParts.add(part);
    try {
      this.checkpointing = this.runCheckpoint(true);
      await this.checkpointing;
    } finally {
      this.checkpointing = null;
      this.readCodec = codec;
    }
    await unlink(`${this.file}.bak`).catch(() => undefined);
    await this.removeUnreferenced(this.manifest, this.manifest);
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    while (this.queued || this.inFlight) await (this.queued ?? this.inFlight)!.catch(() => undefined);
  }

  /**
   * Lets go of the store without writing anything more, as a crash would (what is not committed is
   * lost): stops the timer, closes the journal and releases the lock. For tests.
   */
  async abandon(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.pending.clear();
    await this.flush();
    await this.checkpointing?.catch(() => undefined);
    await this.journal?.close();
    await this.releaseLock?.();
  }

  /** Commits, checkpoints and closes the journal. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.options.readOnly) return;
    await this.flush();
    if (this.pending.size > 0) await this.commit();
    await this.checkpointing?.catch(() => undefined);
    if (this.hasUncheckpointed()) await this.checkpoint();
    await this.journal?.close();
    await this.releaseLock?.();
  }

  // ---- internals -------------------------------------------------------------------------------

  private mark(key: string, part: string): void {
    this.pending.add(key);
    this.dirtyParts.add(part);
  }

  /** The journal op for a changed entity: its current value, or its removal. */
  private async opFor(key: string): Promise<Op> {
    const [t, a, b] = key.split(SEP) as [Op['t'], string, string | undefined];
    switch (t) {
      case 'sub':
        return { t, id: a, v: this.data.subscriptions[a] };
      case 'res':
        return { t, k: a, v: this.data.resources[a] };
      case 'snap': {
        const table = this.tableOf(a);
        const pending = table.peek(b!);
        return { t, k: a, id: b!, v: pending === undefined ? (await table.get([b!])).get(b!) : (pending ?? undefined) };
      }
      case 'evt': {
        if (!this.eventIndex.has(a)) return { t, id: a };
        const pending = this.events.peek(a);
        const payload = pending === undefined ? (await this.events.get([a])).get(a) : pending;
        return { t, id: a, v: payload ? { payload, dispatched: !this.undispatched.has(a) } : undefined };
      }
      case 'dsp':
        return { t, id: a };
      case 'dlv': {
        const d = this.data.deliveries[a];
        if (!d) return { t, id: a };
        const pending = this.attempts.peek(a);
        const attempts = pending === undefined ? ((await this.attempts.get([a])).get(a) ?? []) : (pending ?? []);
        return { t, id: a, v: { ...d, attempts } };
      }
      case 'aud':
        return { t, id: a, v: this.auditIndex.get(a) };
      case 'key':
        return { t, id: a, v: this.data.api_keys[a] };
    }
  }

  private apply(op: Op): void {
    switch (op.t) {
      case 'sub':
        if (op.v) this.data.subscriptions[op.id] = op.v;
        else delete this.data.subscriptions[op.id];
        return;
      case 'res':
        if (op.v) this.data.resources[op.k] = op.v;
        else delete this.data.resources[op.k];
        return;
      case 'snap':
        this.tableOf(op.k).put(op.id, op.v ? deepFreeze(op.v) : null);
        return;
      case 'evt':
        if (op.v) this.applyEvent(op.id, deepFreeze(op.v));
        else this.dropEvents(new Set([op.id]));
        return;
      case 'dsp':
        this.undispatched.delete(op.id);
        return;
      case 'dlv':
        if (op.v) {
          this.attempts.put(op.id, deepFreeze(op.v.attempts));
          this.data.deliveries[op.id] = { ...op.v, attempts: [] };
        } else {
          delete this.data.deliveries[op.id];
          this.attempts.put(op.id, null);
        }
        return;
      case 'key':
        if (op.v) this.data.api_keys[op.id] = op.v;
        else delete this.data.api_keys[op.id];
        return;
      case 'aud':
        if (op.v && !this.auditIndex.has(op.id)) {
          this.data.audit.push(op.v);
          this.auditIndex.set(op.id, op.v);
        } else if (!op.v && this.auditIndex.delete(op.id)) {
          this.data.audit = this.data.audit.filter((e) => e.id !== op.id);
        }
        return;
    }
  }

  /** The part a replayed op belongs to; for a removal, where the entity still is (call before `apply`). */
  private partOfOp(op: Op): string {
    switch (op.t) {
      case 'sub':
      case 'res':
      case 'key':
      case 'dsp':
      case 'evt':
        // Event bodies are in their table; the undispatched list is in the meta part.
        return META_PART;
      case 'snap':
        return snapshotPart(op.k);
      case 'dlv': {
        const d = op.v ?? this.data.deliveries[op.id];
        return d ? deliveryPart(d.created_at) : (this.partOf.get(`dlv${SEP}${op.id}`) ?? META_PART);
      }
      case 'aud': {
        const a = op.v ?? this.auditIndex.get(op.id);
        return a ? auditPart(a.at) : META_PART;
      }
    }
  }

  private loadPart(data: StoreData, part: string, content: PartContent): void {
    switch (content.kind) {
      case 'meta':
        data.subscriptions = content.subscriptions;
        data.resources = content.resources;
        data.api_keys = content.api_keys ?? {};
        return;
      case 'snap':
        data.snapshots[content.key] = content.snapshots;
        return;
      case 'evt':
        for (const e of content.events) data.events.push(e);
        return;
      case 'dlv':
        for (const d of content.deliveries) data.deliveries[d.id] = d;
        return;
      case 'aud':
        for (const e of content.entries) data.audit.push(e);
        return;
      default:
        throw new StoreCorruptError(join(this.dir, this.manifest.parts[part] ?? part), new Error('unknown part kind'));
    }
  }

  private reindex(): void {
    this.auditIndex.clear();
    for (const e of this.data.audit) this.auditIndex.set(e.id, e);
    this.partOf.clear();
    this.deliveriesByEvent.clear();
    this.deliveriesBySubscription.clear();
    for (const d of Object.values(this.data.deliveries)) {
      this.partOf.set(`dlv${SEP}${d.id}`, deliveryPart(d.created_at));
      this.indexDelivery(d);
    }
  }

  /** Every part the in-memory data occupies (tables are tracked by their own buckets). */
  private allParts(): Set<string> {
    const parts = new Set<string>([META_PART]);
    for (const d of Object.values(this.data.deliveries)) parts.add(deliveryPart(d.created_at));
    for (const e of this.data.audit) parts.add(auditPart(e.at));
    return parts;
  }

  /** The content of each wanted in-memory part, gathered in one pass over deliveries and audit. */
  private partContents(wanted: ReadonlySet<string>): Array<{ part: string; content: PartContent }> {
    const out = new Map<string, PartContent>();
    for (const part of wanted) {
      if (part === META_PART) {
        out.set(part, {
          kind: 'meta',
          subscriptions: this.data.subscriptions,
          resources: this.data.resources,
          api_keys: this.data.api_keys,
          undispatched: [...this.undispatched],
        });
      } else if (part.startsWith('dlv.')) out.set(part, { kind: 'dlv', deliveries: [] });
      else if (part.startsWith('aud.')) out.set(part, { kind: 'aud', entries: [] });
    }
    if ([...wanted].some((p) => p.startsWith('dlv.'))) {
      for (const d of Object.values(this.data.deliveries)) {
        const c = out.get(deliveryPart(d.created_at));
        if (c?.kind === 'dlv') c.deliveries.push(d);
      }
    }
    if ([...wanted].some((p) => p.startsWith('aud.'))) {
      for (const e of this.data.audit) {
        const c = out.get(auditPart(e.at));
        if (c?.kind === 'aud') c.entries.push(e);
      }
    }
    return [...out].map(([part, content]) => ({ part, content }));
  }

  /** Removes part files and journals that neither the current nor the backup manifest needs. */
  private async removeUnreferenced(backup: Manifest, current: Manifest): Promise<void> {
    const keep = new Set([...filesOf(backup), ...filesOf(current)]);
    const oldestJournal = Math.min(backup.gen, current.gen);
    for (const name of await readdir(this.dir)) {
      const journal = JOURNAL_FILE.exec(name);
      const isPart = /\.g\d+\.json$/.test(name);
      if ((journal && Number(journal[1]) < oldestJournal) || (isPart && !keep.has(name))) {
        await unlink(join(this.dir, name)).catch(() => undefined);
      }
    }
    await syncDir(this.dir);
  }
}

/** Every part and bucket file a manifest refers to. */
function filesOf(m: Manifest): string[] {
  return [
    ...Object.values(m.parts),
    ...Object.values(m.snapshots ?? {}).flatMap((b) => b.map((x) => x.file)),
    ...(m.events ?? []).map((x) => x.file),
    ...(m.attempts ?? []).map((x) => x.file),
  ];
}

/** The attempts table's key among the checkpoint's tables (snapshot tables are keyed by resource). */
const ATTEMPTS = '\u0000attempts';

function isLiveSnapshot(s: Snapshot): boolean {
  return !s.record.deleted_at;
}

function isEmptyPart(content: PartContent): boolean {
  if (content.kind === 'evt') return content.events.length === 0;
  if (content.kind === 'dlv') return content.deliveries.length === 0;
  if (content.kind === 'snap') return Object.keys(content.snapshots).length === 0;
  if (content.kind === 'aud') return content.entries.length === 0;
  return false;
}

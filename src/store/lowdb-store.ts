import { copyFile, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { metrics } from '../metrics.js';
import { encodePieces, plainCodec, type Codec } from './codec.js';
import { DurableJsonFile, StoreCorruptError, syncDir } from './durable-file.js';
import { Journal, readJournal } from './journal.js';
import { acquireLock } from './lock.js';
import { auditPart, JOURNAL_FILE, journalFile, META_PART, partFile, snapshotPart } from './layout.js';
import { EventIndex, type EventIndexEntry } from './event-index.js';
import { DeliveryIndex, deliveryEntry, type DeliveryIndexEntry } from './delivery-index.js';
import { UndoLog, type UndoEntry } from './undo-log.js';
import { RangeTable, type BucketContent, type BucketMeta, type PendingChange } from './range-table.js';
import type { ApiKey, Attempt, AuditEntry, Delivery, ResourceState, Snapshot, StoreData, StoredEvent, Subscription } from './schema.js';
import type { EventEnvelope } from '../events/envelope.js';
import { emptyStore, withSubscriptionDefaults } from './schema.js';
import { matchesEventType } from '../delivery/match.js';
import { byCreation, deepFreeze, pageNewestFirst, pagePositions } from './page.js';
import {
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
 * `manifest.json`: which file holds each part at the last checkpoint, and its generation. Version 4
 * keeps snapshots, event bodies, deliveries and the two listing indexes in range tables
 * (`range-table.ts`). Older versions are migrated at the first start: version 3 (deliveries in
 * hourly parts, their attempts in a table, no event index) and version 2 (one file per resource's
 * snapshots, events per hour).
 */
interface Manifest {
  version: 2 | 3 | 4;
  gen: number;
  parts: Record<string, string>;
  /** Snapshot buckets per resource key (`cliniko:patients`). */
  snapshots?: Record<string, BucketMeta[]>;
  /** Event body buckets, by event id. */
  events?: BucketMeta[];
  /** Version 4: per event id its `EventIndexEntry`, so a start reads no event body. */
  eventIndex?: BucketMeta[];
  /** Version 4: whole deliveries, attempts included, by delivery id. */
  deliveries?: BucketMeta[];
  /** Version 4: per delivery id its `DeliveryIndexEntry`, so a start reads no delivery. */
  deliveryIndex?: BucketMeta[];
  /** Version 3 only (read when migrating): delivery attempt buckets, by delivery id. */
  attempts?: BucketMeta[];
}

/** The manifest version this code writes. */
const MANIFEST_VERSION = 4;

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
  /** Versions 2 and 3 only: read when migrating. */
  | { kind: 'dlv'; deliveries: Delivery[] }
  | { kind: 'aud'; entries: AuditEntry[] };

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
 * Memory holds what is small and hot (subscriptions, API keys, cursors, audit, per event the fields
 * listings filter on and per delivery its event, subscription and status, both columnar); snapshots,
 * event bodies and deliveries live in range tables on disk whose bucket files split as they grow, so
 * neither memory nor a checkpoint grows with the account, and the two indexes have tables of their
 * own, so a start reads them instead of the bodies.
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
  /** Per event id its listing fields: what a start reads to rebuild `eventIdx`. */
  private eventIndexTable!: RangeTable<EventIndexEntry>;
  /** Whole deliveries (attempts included) by id. */
  private deliveries!: RangeTable<Delivery>;
  /** Per delivery id its event, subscription and status: what a start reads to rebuild `deliveryIdx`. */
  private deliveryIndexTable!: RangeTable<DeliveryIndexEntry>;
  /** Every retained event's listing fields, in id (detection) order. */
  private eventIdx = new EventIndex();
  /** Every delivery's event, subscription and status, in id order. */
  private deliveryIdx = new DeliveryIndex();
  /** Events whose deliveries are not created yet. */
  private readonly undispatched = new Set<string>();
  /** Codec of files being read while `reencode` rewrites them with another. */
  private readCodec: Codec;
  private readonly auditIndex = new Map<string, AuditEntry>();
  /** Entities changed since the last commit: `kind\0key[\0id]`. */
  private pending = new Set<string>();
  /** How to undo the changes in `pending`, in the order they were made (settled once their line is durable). */
  private pendingUndo: UndoEntry[] = [];
  /** Unsettled writes per entity, so undoing one never clobbers a later write (`undo-log.ts`). */
  private readonly undoLog = new UndoLog();
  /** Parts changed since the last checkpoint cut. */
  private dirtyParts = new Set<string>();
  private manifest: Manifest = { version: MANIFEST_VERSION, gen: 0, parts: {} };
  private gen = 0;
  private seq = 0;
  private journal: Journal | null = null;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private checkpointing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
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
    this.openTables({ version: MANIFEST_VERSION, gen: 0, parts: {} });
  }

  /** The event and delivery tables of a manifest (snapshot tables are opened per resource). */
  private openTables(m: Manifest): void {
    this.events = this.table<EventEnvelope>('evt', m.events ?? []);
    // The indexes are read whole, once, at start: no parsed bucket of theirs is kept. (Larger buckets
    // for them were tried: a start's time is in parsing bytes, not in opening files, and parsing
    // several large buckets at once raised the heap's peak.)
    const index = { cacheBuckets: 0 };
    this.eventIndexTable = this.table<EventIndexEntry>('evi', m.eventIndex ?? [], undefined, index);
    this.deliveries = this.table<Delivery>('dlb', m.deliveries ?? []);
    this.deliveryIndexTable = this.table<DeliveryIndexEntry>('dli', m.deliveryIndex ?? [], undefined, index);
  }

  /** Every range table, for checkpoints, dirtiness and `memory()`, each with its key in the checkpoint's cut. */
  private allTables(): Array<[string, RangeTable<unknown>]> {
    return [
      [EVENTS, this.events],
      [EVENT_INDEX, this.eventIndexTable],
      [DELIVERIES, this.deliveries],
      [DELIVERY_INDEX, this.deliveryIndexTable],
      ...this.snapshotTables,
    ] as Array<[string, RangeTable<unknown>]>;
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
    if (!manifest && names.some((n) => /^(snap|evt|evi|dlv|dlb|dli|att|aud|meta)\..*\.json$/.test(n))) {
      throw new StoreCorruptError(this.file, new Error('manifest.json is missing but part files exist'));
    }
    if (
      manifest &&
      (![2, 3, MANIFEST_VERSION].includes(manifest.version) || typeof manifest.gen !== 'number' || typeof manifest.parts !== 'object')
    ) {
      throw new StoreCorruptError(this.file, new Error('not a store manifest'));
    }
    this.manifest = manifest ?? { version: MANIFEST_VERSION, gen: 0, parts: {} };
    // An older store is read once and written in this version's layout by the first checkpoint; its
    // files stay until that checkpoint's manifest is on disk, so an interrupted migration reruns.
    const migrating = this.manifest.version !== MANIFEST_VERSION;

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
    this.openTables(this.manifest);
    // The listing indexes come from their own small tables; no event or delivery body is read.
    await this.eventIndexTable.scan((id, entry) => this.eventIdx.set(id, entry));
    await this.deliveryIndexTable.scan((id, [eventId, subId, status]) =>
      this.deliveryIdx.set(id, [this.eventIdx.canonical(eventId), subId, status]),
    );
    if (this.manifest.version === 3) await this.migrateVersion3(data);
    // Version 2 parts loaded whole into the tables' pending changes.
    for (const [key, snapshots] of Object.entries(data.snapshots))
      for (const [id, snap] of Object.entries(snapshots)) this.tableOf(key).put(id, snap);
    for (const e of data.events) this.applyEvent(e.payload.id, e);
    // Versions 2 and 3 kept deliveries in hourly parts (version 2 with their attempts inside).
    for (const d of Object.values(data.deliveries)) this.setDelivery(deepFreeze(d));
    for (const id of undispatched) if (this.eventIdx.has(id)) this.undispatched.add(id);
    data.snapshots = {};
    data.events = [];
    data.deliveries = {};
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
    // Replayed and migrated changes are already durable (journal, old files): no commit writes them again.
    this.pending.clear();
    this.data.audit.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const [id, sub] of Object.entries(this.data.subscriptions)) this.data.subscriptions[id] = withSubscriptionDefaults(sub);
    for (const v of Object.values(this.data.subscriptions)) deepFreeze(v);
    for (const v of Object.values(this.data.api_keys)) deepFreeze(v);
    for (const v of Object.values(this.data.resources)) deepFreeze(v);
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

  /**
   * Version 3 had no event index and kept deliveries without their attempts in hourly parts, the
   * attempts in a table of their own: reads every event body once for the index and joins each
   * delivery to its attempts, so the first checkpoint writes both as version 4 tables.
   */
  private async migrateVersion3(data: StoreData): Promise<void> {
    await this.events.scan((id, payload) => {
      this.eventIdx.set(id, indexEntryOf(payload));
      this.eventIndexTable.put(id, indexEntryOf(payload));
    });
    const attempts = this.table<Attempt[]>('att', this.manifest.attempts ?? [], undefined, { cacheBuckets: 0 });
    await attempts.scan((id, list) => {
      const d = data.deliveries[id];
      if (d) data.deliveries[id] = { ...d, attempts: list };
    });
  }

  /** A range table of this store: its buckets are lowdb part files in the data directory. */
  private table<V>(
    name: string,
    buckets: BucketMeta[],
    counted?: (v: V) => boolean,
    { cacheBuckets = CACHE_BUCKETS, maxBucketBytes = this.options.maxBucketBytes } = {},
  ): RangeTable<V> {
    return new RangeTable<V>(
      {
        name,
        read: async (file) => {
          const content = (await this.readPart(file)) as unknown as BucketContent<V>;
          if (content.kind !== 'range') throw new StoreCorruptError(join(this.dir, file), new Error('not a bucket file'));
          return content;
        },
        // The checkpoint fsyncs the directory once, before its manifest names these files.
        write: (file, pieces) => new DurableJsonFile(join(this.dir, file), this.codec).writePieces(pieces, { syncDir: false }),
        maxBucketBytes,
        cacheBuckets,
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
    return this.dirtyParts.size > 0 || this.allTables().some(([, t]) => t.isDirty);
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
    if (!this.eventIdx.has(id)) return undefined;
    return this.eventsByIds([id]).then((list) => list[0]);
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const idx = this.eventIdx;
    const since = query.since ? Date.parse(query.since) : -Infinity;
    const until = query.until ? Date.parse(query.until) : Infinity;
    // -1 (no event has it) matches nothing.
    const resource = query.resource === undefined ? null : idx.resourceNumber(query.resource);
    let delivered: Set<string> | null = null;
    if (query.delivered_to) {
      delivered = new Set();
      const di = this.deliveryIdx;
      const subs = new Set(query.delivered_to.map((id) => di.subscriptionNumber(id)));
      for (let i = 0; i < di.length; i++) if (subs.has(di.subscriptionAt(i))) delivered.add(di.eventAt(i));
    }
    const keep = (i: number) => {
      const t = idx.timeAt(i);
      return (
        t >= since &&
        t < until &&
        (resource === null || idx.resourceAt(i) === resource) &&
        (!query.record_id || idx.recordAt(i) === query.record_id) &&
        (!query.undispatched || this.undispatched.has(idx.idAt(i))) &&
        (!query.types || matchesEventType(query.types, idx.typeAt(i))) &&
        (!delivered || delivered.has(idx.idAt(i)))
      );
    };
    const page = pagePositions(idx.length, (i) => idx.idAt(i), keep, query.limit, query.before);
    return { data: await this.eventsByIds(page.data.map((i) => idx.idAt(i))), next: page.next };
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
    if (this.deliveryIdx.position(id) < 0) return undefined;
    return (await this.deliveriesByIds([id]))[0];
  }

  /** Deliveries read from their table (or pending changes), in the order of `ids`. */
  private async deliveriesByIds(ids: readonly string[]): Promise<Delivery[]> {
    const found = await this.deliveries.get(ids);
    const out: Delivery[] = [];
    for (const id of ids) {
      const d = found.get(id);
      if (d) out.push(deepFreeze(d));
    }
    return out;
  }

  async listDeliveries(query: DeliveryQuery): Promise<Page<Delivery>> {
    const di = this.deliveryIdx;
    // -1 (no delivery has it) matches nothing.
    const sub = query.subscription_id === undefined ? null : di.subscriptionNumber(query.subscription_id);
    let page: Page<string>;
    if (query.event_id !== undefined) {
      const keep = (id: string) => {
        const i = di.position(id);
        return (sub === null || di.subscriptionAt(i) === sub) && (!query.status || di.statusAt(i) === query.status);
      };
      page = pageNewestFirst(di.ofEvent(query.event_id), (id) => id, keep, query.limit, query.before);
    } else {
      const keep = (i: number) => (sub === null || di.subscriptionAt(i) === sub) && (!query.status || di.statusAt(i) === query.status);
      const positions = pagePositions(di.length, (i) => di.idAt(i), keep, query.limit, query.before);
      page = { data: positions.data.map((i) => di.idAt(i)), next: positions.next };
    }
    return { data: await this.deliveriesByIds(page.data), next: page.next };
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
    const undo: UndoEntry[] = [];
    const tx = this.txFor(undo);
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) this.undoLog.undo(undo[i]!);
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
    const di = this.deliveryIdx;
    const ei = this.eventIdx;
    // Events with a delivery still pending or failed stay.
    const keep = new Set<string>();
    for (let i = 0; i < di.length; i++) if (di.statusAt(i) !== 'succeeded') keep.add(di.eventAt(i));
    const cut = Date.parse(cutoff);
    const drop = new Set<string>();
    for (let i = 0; i < ei.length; i++) {
      // Events are in detection order: stop at the first one inside the retention window.
      if (ei.timeAt(i) >= cut) break;
      const id = ei.idAt(i);
      if (!this.undispatched.has(id) && !keep.has(id)) drop.add(id);
    }
    const deliveries = new Set<string>();
    for (const id of drop) for (const dId of di.ofEvent(id)) deliveries.add(dId);
    this.removeDeliveries(deliveries);
    this.dropEvents(drop);
    const audit = this.dropAuditBefore(cutoff);
    if (drop.size > 0 || audit > 0) await this.commit();
    return { events: drop.size, deliveries: deliveries.size, audit };
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
    const ids = Array.from({ length: this.eventIdx.length }, (_, i) => this.eventIdx.idAt(i));
    const deliveryIds = Array.from({ length: this.deliveryIdx.length }, (_, i) => this.deliveryIdx.idAt(i));
    return {
      version: 1,
      subscriptions: { ...this.data.subscriptions },
      resources: { ...this.data.resources },
      snapshots,
      events: await this.eventsByIds(ids),
      deliveries: Object.fromEntries((await this.deliveriesByIds(deliveryIds)).map((d) => [d.id, d])),
      audit: [...this.data.audit],
      api_keys: { ...this.data.api_keys },
    };
  }

  async counts(): Promise<StoreCounts> {
    const deliveries = { pending: 0, succeeded: 0, failed: 0 };
    for (let i = 0; i < this.deliveryIdx.length; i++) deliveries[this.deliveryIdx.statusAt(i)] += 1;
    const snapshots: Record<string, number> = {};
    for (const [key, table] of this.snapshotTables) snapshots[key] = (await table.count()).count;
    return {
      subscriptions: Object.keys(this.data.subscriptions).length,
      api_keys: Object.keys(this.data.api_keys).length,
      events: this.eventIdx.length,
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
  memory(): {
    pendingRecords: number;
    cachedBuckets: number;
    tables: number;
    buckets: number;
    largestBucketBytes: number;
    /** Bucket files parsed since the store was opened, per table (`evt`, `evi`, `dlb`, `dli`, `snap.…`). */
    bucketsRead: Record<string, number>;
  } {
    const tables = this.allTables().map(([, t]) => t);
    const all = tables.flatMap((t) => t.bucketList);
    return {
      pendingRecords: tables.reduce((n, t) => n + t.pendingCount, 0),
      cachedBuckets: tables.reduce((n, t) => n + t.cachedCount, 0),
      tables: tables.length,
      buckets: all.length,
      largestBucketBytes: all.reduce((n, b) => Math.max(n, b.bytes), 0),
      bucketsRead: Object.fromEntries(tables.map((t) => [t.name, t.reads])),
    };
  }

  health(): StoreHealth {
    return { writable: this.writeError === null, reason: this.writeError, failedWrites: this.stats.failedWrites };
  }

  get location(): string {
    return this.dir;
  }

  /** The writes of one transaction; each records in `undo` how to put its entity back. */
  private txFor(undo: UndoEntry[]): StoreTx & { closed: boolean } {
    const record = <V>(key: string, before: V, restore: (before: V) => void) => undo.push(this.undoLog.record(key, before, restore));
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
        record(`sub${SEP}${sub.id}`, this.data.subscriptions[sub.id], (before) => this.setSubscription(sub.id, before));
        this.setSubscription(sub.id, deepFreeze(sub));
      },
      deleteSubscription: async (id) => {
        guard();
        record(`sub${SEP}${id}`, this.data.subscriptions[id], (before) => this.setSubscription(id, before));
        const n = this.deliveryIdx.subscriptionNumber(id);
        const ids = new Set<string>();
        for (let i = 0; i < this.deliveryIdx.length; i++) if (this.deliveryIdx.subscriptionAt(i) === n) ids.add(this.deliveryIdx.idAt(i));
        for (const dId of ids) record(`dlv${SEP}${dId}`, this.deliveryBefore(dId), (before) => this.restoreDelivery(dId, before));
        this.setSubscription(id, undefined);
        this.removeDeliveries(ids);
      },
      putApiKey: (key) => {
        guard();
        record(`key${SEP}${key.id}`, this.data.api_keys[key.id], (before) => this.setApiKey(key.id, before));
        this.setApiKey(key.id, deepFreeze(key));
      },
      deleteApiKey: (id) => {
        guard();
        record(`key${SEP}${id}`, this.data.api_keys[id], (before) => this.setApiKey(id, before));
        this.setApiKey(id, undefined);
      },
      putResource: (key, state) => {
        guard();
        record(`res${SEP}${key}`, this.data.resources[key], (before) => this.setResource(key, before));
        this.setResource(key, deepFreeze(state));
      },
      putSnapshot: (resource, id, snapshot) => {
        guard();
        const before = this.tableOf(resource).peek(id);
        record(`snap${SEP}${resource}${SEP}${id}`, before, (b) => this.restoreSnapshot(resource, id, b));
        // The table keeps the snapshot's JSON text, so the caller's object is not shared (no freeze).
        this.setSnapshot(resource, id, snapshot);
      },
      deleteSnapshot: (resource, id) => {
        guard();
        const before = this.tableOf(resource).peek(id);
        record(`snap${SEP}${resource}${SEP}${id}`, before, (b) => this.restoreSnapshot(resource, id, b));
        this.setSnapshot(resource, id, null);
      },
      appendEvents: (events) => {
        guard();
        for (const e of events) {
          const id = e.payload.id;
          record(`evt${SEP}${id}`, null, () => this.dropEvents(new Set([id])));
          this.applyEvent(id, deepFreeze({ payload: e.payload, dispatched: e.dispatched }));
        }
      },
      markDispatched: (ids) => {
        guard();
        for (const id of ids) {
          if (!this.undispatched.has(id)) continue;
          record(`dsp${SEP}${id}`, false, (before) => this.setDispatched(id, before));
          this.setDispatched(id, true);
        }
      },
      putDelivery: (delivery) => {
        guard();
        const id = delivery.id;
        record(`dlv${SEP}${id}`, this.deliveryBefore(id), (before) => this.restoreDelivery(id, before));
        this.setDelivery(deepFreeze(delivery));
      },
      appendAudit: (entry) => {
        guard();
        record(`aud${SEP}${entry.id}`, null, () => this.removeAudit(entry.id));
        this.addAudit(deepFreeze(entry));
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
  private restoreSnapshot(resource: string, id: string, before: PendingChange | undefined): void {
    this.tableOf(resource).restore(id, before);
    this.mark(`snap${SEP}${resource}${SEP}${id}`, snapshotPart(resource));
  }

  /** Adds an event (a new one, or one replayed from the journal). */
  private applyEvent(id: string, e: StoredEvent): void {
    const entry = indexEntryOf(e.payload);
    this.eventIdx.set(id, entry);
    this.eventIndexTable.put(id, entry);
    this.events.put(id, e.payload);
    if (e.dispatched) this.undispatched.delete(id);
    else this.undispatched.add(id);
    this.mark(`evt${SEP}${id}`);
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
      this.eventIndexTable.put(id, null);
      this.undispatched.delete(id);
      this.mark(`evt${SEP}${id}`);
    }
    this.eventIdx.remove(ids);
  }

  /** Puts a whole delivery in its table and its event, subscription and status in the index. */
  private setDelivery(d: Delivery): void {
    const entry = deliveryEntry(d);
    this.deliveries.put(d.id, d);
    this.deliveryIndexTable.put(d.id, entry);
    this.deliveryIdx.set(d.id, [this.eventIdx.canonical(d.event_id), d.subscription_id, d.status]);
    this.mark(`dlv${SEP}${d.id}`);
  }

  /** What undoing a write to delivery `id` puts back: its pending values (undefined: none, read from disk) and its index entry. */
  private deliveryBefore(id: string): DeliveryBefore {
    return { body: this.deliveries.peek(id), entry: this.deliveryIndexTable.peek(id), indexed: this.deliveryIdx.get(id) };
  }

  private restoreDelivery(id: string, before: DeliveryBefore): void {
    this.deliveries.restore(id, before.body);
    this.deliveryIndexTable.restore(id, before.entry);
    if (before.indexed) this.deliveryIdx.set(id, before.indexed);
    else this.deliveryIdx.remove(new Set([id]));
    this.mark(`dlv${SEP}${id}`);
  }

  /** Removes deliveries (retention, a deleted subscription, undoing a transaction). */
  private removeDeliveries(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const id of ids) {
      this.deliveries.put(id, null);
      this.deliveryIndexTable.put(id, null);
      this.mark(`dlv${SEP}${id}`);
    }
    this.deliveryIdx.remove(ids);
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
        const texts: Array<string | Promise<string>> = [];
        let reads = false;
        for (const k of keys) {
          const text = this.opText(k);
          if (text === null) continue;
          if (typeof text !== 'string') reads = true;
          texts.push(text);
        }
        const ops = reads ? await Promise.all(texts) : (texts as string[]);
        // `{"seq":N,"ops":[…]}` (a JournalLine) in pieces: one joined string of several pages'
        // records would be a large V8 object, slow to build and to collect.
        const pieces = [`{"seq":${++this.seq},"ops":[`];
        for (let i = 0; i < ops.length; i++) pieces.push(i === 0 ? ops[i]! : `,${ops[i]!}`);
        pieces.push(']}');
        write = this.journal!.append(encodePieces(this.codec, pieces));
        await write;
        for (const u of undos) this.undoLog.settle(u);
        this.stats.commits += 1;
        this.stats.lastCommitMs = performance.now() - started;
        metrics.storeCommit.observe(this.stats.lastCommitMs / 1000);
        this.writeError = null;
      } catch (err) {
        // Whatever no transaction can undo (retention) is written by the next line instead.
        for (const k of keys) this.pending.add(k);
        for (let i = undos.length - 1; i >= 0; i--) this.undoLog.undo(undos[i]!);
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
    const parts = [...this.dirtyParts].filter((p) => p === META_PART || p.startsWith('aud.'));
    this.dirtyParts = new Set();
    const contents = this.partContents(new Set(parts)).map(({ part, content }) => ({
      part,
      empty: isEmptyPart(content),
      text: isEmptyPart(content) ? '' : this.codec.encode(JSON.stringify(content)),
    }));
    const cuts = this.allTables().map(([key, table]) => ({ key, table, cut: table.cut() }));
    const newGen = this.gen + 1;
    this.gen = newGen;
    const oldJournal = this.journal!;
    this.journal = new Journal(join(this.dir, journalFile(newGen)));
    // A commit collected before the cut may still be writing to the old journal.
    await this.inFlight?.catch(() => undefined);
    await oldJournal.close();

    try {
      const manifest: Manifest = {
        version: MANIFEST_VERSION,
        gen: newGen,
        parts: { ...this.manifest.parts },
        snapshots: {},
        events: [],
        eventIndex: [],
        deliveries: [],
        deliveryIndex: [],
      };
      // Parts of older versions are replaced by the tables.
      for (const part of Object.keys(manifest.parts)) if (/^(snap|evt|dlv)\./.test(part)) delete manifest.parts[part];
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
      const written: BucketMeta[][] = [];
      for (const { key, table, cut } of cuts) {
        const result = await table.write(cut, newGen, rewriteAll);
        bytes += result.bytes;
        written.push(result.buckets);
        if (key === EVENTS) manifest.events = result.buckets;
        else if (key === EVENT_INDEX) manifest.eventIndex = result.buckets;
        else if (key === DELIVERIES) manifest.deliveries = result.buckets;
        else if (key === DELIVERY_INDEX) manifest.deliveryIndex = result.buckets;
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
      cuts.forEach(({ table, cut }, i) => table.switchTo(cut, written[i]!));
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

  /** Records that entity `key` changed: the next commit journals it; `part` (a part file, not a table) is rewritten at the next checkpoint. */
  private mark(key: string, part?: string): void {
    this.pending.add(key);
    if (part) this.dirtyParts.add(part);
  }

  /** The journal op for a changed entity: its current value, or its removal. */
  /**
   * The JSON text of the journal op for a changed entity. A table's pending change is spliced in as
   * the text the table already holds (serialised once, at the write); an entity changed and then
   * checkpointed before this line is read back from its bucket. Synchronous unless it must read.
   * Null when the key has nothing to journal.
   */
  private opText(key: string): string | null | Promise<string> {
    const [t, a, b] = key.split(SEP) as [Op['t'], string, string | undefined];
    switch (t) {
      case 'sub':
        return JSON.stringify({ t, id: a, v: this.data.subscriptions[a] } satisfies Op);
      case 'res':
        return JSON.stringify({ t, k: a, v: this.data.resources[a] } satisfies Op);
      case 'snap': {
        const head = `{"t":"snap","k":${JSON.stringify(a)},"id":${JSON.stringify(b)}`;
        return this.tableOpText(this.tableOf(a), b!, head, (v) => v);
      }
      case 'evt': {
        const head = `{"t":"evt","id":${JSON.stringify(a)}`;
        if (!this.eventIdx.has(a)) return `${head}}`;
        return this.tableOpText(this.events, a, head, (payload) => `{"payload":${payload},"dispatched":${!this.undispatched.has(a)}}`);
      }
      case 'dsp':
        // Undispatched again (the line that marked it failed and was undone): nothing to journal.
        return this.undispatched.has(a) ? null : JSON.stringify({ t, id: a } satisfies Op);
      case 'dlv': {
        const head = `{"t":"dlv","id":${JSON.stringify(a)}`;
        if (this.deliveryIdx.position(a) < 0) return `${head}}`;
        return this.tableOpText(this.deliveries, a, head, (v) => v);
      }
      case 'aud':
        return JSON.stringify({ t, id: a, v: this.auditIndex.get(a) } satisfies Op);
      case 'key':
        return JSON.stringify({ t, id: a, v: this.data.api_keys[a] } satisfies Op);
    }
  }

  /** `head` (an op's opening without `v`) completed with the id's current value in `table`, wrapped by `wrap`. */
  private tableOpText<V>(table: RangeTable<V>, id: string, head: string, wrap: (text: string) => string): string | Promise<string> {
    const pending = table.peek(id);
    const finish = (text: string | undefined) => (text === undefined ? `${head}}` : `${head},"v":${wrap(text)}}`);
    if (pending === null) return finish(undefined);
    if (pending !== undefined) return finish(pending.text);
    return table.get([id]).then((found) => {
      const v = found.get(id);
      return finish(v === undefined ? undefined : JSON.stringify(v));
    });
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
        this.tableOf(op.k).put(op.id, op.v ?? null);
        return;
      case 'evt':
        if (op.v) this.applyEvent(op.id, deepFreeze(op.v));
        else this.dropEvents(new Set([op.id]));
        return;
      case 'dsp':
        this.undispatched.delete(op.id);
        return;
      case 'dlv':
        if (op.v) this.setDelivery(deepFreeze(op.v));
        else this.removeDeliveries(new Set([op.id]));
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
      case 'dlv':
        // Event bodies and deliveries are in their tables; the undispatched list is in the meta part.
        return META_PART;
      case 'snap':
        return snapshotPart(op.k);
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
  }

  /** Every part the in-memory data occupies (tables are tracked by their own buckets). */
  private allParts(): Set<string> {
    const parts = new Set<string>([META_PART]);
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
      } else if (part.startsWith('aud.')) out.set(part, { kind: 'aud', entries: [] });
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
    ...[m.events, m.eventIndex, m.deliveries, m.deliveryIndex, m.attempts].flatMap((list) => (list ?? []).map((x) => x.file)),
  ];
}

/** Keys of the event and delivery tables among the checkpoint's tables (snapshot tables are keyed by resource). */
const EVENTS = '\u0000events';
const EVENT_INDEX = '\u0000eventIndex';
const DELIVERIES = '\u0000deliveries';
const DELIVERY_INDEX = '\u0000deliveryIndex';

/** A delivery as a write found it, for undoing that write (`LowdbStore.deliveryBefore`). */
interface DeliveryBefore {
  /** The pending changes of the delivery and its index row (undefined: none, the checkpoint has it). */
  body: PendingChange | undefined;
  entry: PendingChange | undefined;
  indexed: DeliveryIndexEntry | undefined;
}

/** What the event index keeps of an event. */
function indexEntryOf(payload: EventEnvelope): EventIndexEntry {
  return [payload.type, payload.timestamp, payload.data.resource, payload.data.id];
}

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

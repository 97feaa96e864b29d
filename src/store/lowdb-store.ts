import { copyFile, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { metrics } from '../metrics.js';
import { plainCodec, type Codec } from './codec.js';
import { DurableJsonFile, StoreCorruptError, syncDir } from './durable-file.js';
import { Journal, readJournal } from './journal.js';
import { acquireLock } from './lock.js';
import { auditPart, deliveryPart, eventPart, JOURNAL_FILE, journalFile, META_PART, partFile, snapshotPart } from './layout.js';
import type { ApiKey, AuditEntry, Delivery, ResourceState, Snapshot, StoreData, StoredEvent, Subscription } from './schema.js';
import { emptyStore, withSubscriptionDefaults } from './schema.js';
import { matchesEventType } from '../delivery/match.js';
import { byCreation, deepFreeze, pageNewestFirst } from './page.js';
import { byId, type AuditQuery, type DeliveryQuery, type EventQuery, type Page, type Store, type StoreCounts, type StoreHealth, type StoreTx } from './store.js';

/** `manifest.json`: which file holds each part at the last checkpoint, and its generation. */
interface Manifest {
  version: 2;
  gen: number;
  parts: Record<string, string>;
}

/** One change in the journal: a whole entity's new value, or its removal (`v` absent). Replays are idempotent. */
type Op =
  | { t: 'sub'; id: string; v?: Subscription }
  | { t: 'res'; k: string; v?: ResourceState }
  | { t: 'snap'; k: string; id: string; v?: Snapshot }
  | { t: 'evt'; id: string; v?: StoredEvent }
  | { t: 'dlv'; id: string; v?: Delivery }
  | { t: 'aud'; id: string; v?: AuditEntry }
  | { t: 'key'; id: string; v?: ApiKey };

interface JournalLine {
  seq: number;
  ops: Op[];
}

type PartContent =
  | { kind: 'meta'; subscriptions: StoreData['subscriptions']; resources: StoreData['resources']; api_keys?: StoreData['api_keys'] }
  | { kind: 'snap'; key: string; snapshots: Record<string, Snapshot> }
  | { kind: 'evt'; events: StoredEvent[] }
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
}

const SEP = '\u0000';

/**
 * The bridge's state: in memory for reads, on disk as lowdb part files (a checkpoint) plus an
 * append-only journal of every change since (docs/storage.md).
 *
 * Writers change `data` synchronously, tell the store what they changed (`putSnapshot`,
 * `touchDelivery`, …), then call `commit()`. A commit appends the new values of everything changed
 * since the last one as one fsynced journal line, so all changes made together (the poller's events,
 * snapshots and cursor) become durable together. Commits arriving while one is being written share the
 * next line (group commit). Callers that must not go on before their change is on disk await
 * `commit()`.
 *
 * A checkpoint writes the changed parts to new files, then switches `manifest.json` to them in one
 * rename; the previous manifest stays as `manifest.json.bak` with every file and journal it needs.
 */
export class LowdbStore implements Store {
  private data: StoreData = emptyStore();
  readonly dir: string;
  /** Write counts and durations (ms), for logs, metrics and benchmarks. */
  readonly stats = { commits: 0, lastCommitMs: 0, checkpoints: 0, lastCheckpointMs: 0, tornTailDropped: false, failedWrites: 0 };

  private codec: Codec;
  private readonly options: Required<Omit<StoreOptions, 'codec'>>;
  private readonly eventIndex = new Map<string, StoredEvent>();
  private readonly auditIndex = new Map<string, AuditEntry>();
  /** Delivery ids by event and by subscription, so per-event and per-subscription views read only their own. */
  private readonly deliveriesByEvent = new Map<string, Set<string>>();
  private readonly deliveriesBySubscription = new Map<string, Set<string>>();
  /** Entities changed since the last commit: `kind\0key[\0id]`. */
  private pending = new Set<string>();
  /** Parts changed since the last checkpoint cut. */
  private dirtyParts = new Set<string>();
  /** Part of each event/delivery, remembered so a removal dirties the right part. */
  private readonly partOf = new Map<string, string>();
  private manifest: Manifest = { version: 2, gen: 0, parts: {} };
  private gen = 0;
  private seq = 0;
  private journal: Journal | null = null;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private checkpointing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private releaseLock: (() => Promise<void>) | null = null;
  /** Bytes the last checkpoint wrote. */
  private lastCheckpointBytes = 0;
  /** The last write error, until a write succeeds again. */
  private writeError: string | null = null;

  constructor(dataDir: string, options: StoreOptions = {}) {
    this.dir = dataDir;
    this.codec = options.codec ?? plainCodec;
    this.options = {
      checkpointBytes: options.checkpointBytes ?? 32 * 1024 * 1024,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 5 * 60_000,
      readOnly: options.readOnly ?? false,
    };
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
    if (manifest && (manifest.version !== 2 || typeof manifest.gen !== 'number' || typeof manifest.parts !== 'object')) {
      throw new StoreCorruptError(this.file, new Error('not a store manifest'));
    }
    this.manifest = manifest ?? { version: 2, gen: 0, parts: {} };

    const data = emptyStore();
    for (const [part, fileName] of Object.entries(this.manifest.parts)) {
      const partDb = new Low<PartContent | null>(new DurableJsonFile<PartContent | null>(join(this.dir, fileName), this.codec), null);
      await partDb.read();
      const content = partDb.data;
      if (!content) throw new StoreCorruptError(join(this.dir, fileName), new Error('listed in manifest.json but missing'));
      this.loadPart(data, part, content);
    }
    this.data = data;
    this.reindex();

    const journals = names
      .map((n) => JOURNAL_FILE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .filter((g) => g >= this.manifest.gen)
      .sort((a, b) => a - b);
    // Temp files of writes a crash interrupted before their rename: the targets are intact.
    if (!this.options.readOnly) for (const n of names) if (/^\..*\.tmp$/.test(n)) await unlink(join(this.dir, n)).catch(() => undefined);
    const removed = new Set<string>();
    const replayed = new Set<string>();
    for (const g of journals) {
      const file = join(this.dir, journalFile(g));
      const { lines, tornTail } = await readJournal<JournalLine>(file, this.codec.decode, !this.options.readOnly);
      if (tornTail) this.stats.tornTailDropped = true;
      for (const line of lines) {
        this.seq = Math.max(this.seq, line.seq);
        for (const op of line.ops) {
          replayed.add(this.partOfOp(op));
          this.apply(op, removed);
        }
      }
    }
    if (removed.size > 0) this.data.events = this.data.events.filter((e) => !removed.has(e.payload.id));
    this.data.events.sort((a, b) => (a.payload.id < b.payload.id ? -1 : a.payload.id > b.payload.id ? 1 : 0));
    this.data.audit.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const [id, sub] of Object.entries(this.data.subscriptions)) this.data.subscriptions[id] = withSubscriptionDefaults(sub);
    for (const v of Object.values(this.data.subscriptions)) deepFreeze(v);
    for (const v of Object.values(this.data.api_keys)) deepFreeze(v);
    for (const v of Object.values(this.data.resources)) deepFreeze(v);
    for (const map of Object.values(this.data.snapshots)) for (const s of Object.values(map)) deepFreeze(s);
    for (const e of this.data.events) deepFreeze(e);
    for (const d of Object.values(this.data.deliveries)) deepFreeze(d);
    for (const e of this.data.audit) deepFreeze(e);
    this.reindex();

    this.gen = Math.max(this.manifest.gen, ...journals, 0);
    if (this.options.readOnly) return;
    // What was replayed lives only in the journal: the next checkpoint must write those parts.
    for (const part of replayed) this.dirtyParts.add(part);
    this.journal = new Journal(join(this.dir, journalFile(this.gen)));
    this.timer = setInterval(() => {
      if (this.dirtyParts.size > 0) void this.checkpoint().catch(() => undefined);
    }, this.options.checkpointIntervalMs);
    this.timer.unref();
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
    const map = this.data.snapshots[resource];
    const out = new Map<string, Snapshot>();
    if (!map) return out;
    for (const id of ids) {
      const s = map[id];
      if (s) out.set(id, s);
    }
    return out;
  }

  async liveSnapshotIds(resource: string): Promise<string[]> {
    const out: string[] = [];
    for (const [id, s] of Object.entries(this.data.snapshots[resource] ?? {})) if (!s.record.deleted_at) out.push(id);
    return out;
  }

  async *liveSnapshots(resource: string): AsyncIterable<[string, Snapshot]> {
    for (const [id, s] of Object.entries(this.data.snapshots[resource] ?? {})) if (!s.record.deleted_at) yield [id, s];
  }

  async countSnapshots(resource: string): Promise<number> {
    return Object.keys(this.data.snapshots[resource] ?? {}).length;
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return this.eventIndex.get(id);
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const since = query.since ?? '';
    const until = query.until ?? '\uffff';
    let delivered: Set<string> | null = null;
    if (query.delivered_to) {
      delivered = new Set();
      for (const subId of query.delivered_to) for (const dId of this.deliveriesBySubscription.get(subId) ?? []) delivered.add(this.data.deliveries[dId]!.event_id);
    }
    const keep = (e: StoredEvent) =>
      (!query.undispatched || !e.dispatched) &&
      (!query.types || matchesEventType(query.types, e.payload.type)) &&
      (!query.resource || e.payload.data.resource === query.resource) &&
      (!query.record_id || e.payload.data.id === query.record_id) &&
      e.payload.timestamp >= since &&
      e.payload.timestamp < until &&
      (!delivered || delivered.has(e.payload.id));
    return pageNewestFirst(this.data.events, (e) => e.payload.id, keep, query.limit, query.before);
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    return this.data.deliveries[id];
  }

  async listDeliveries(query: DeliveryQuery): Promise<Page<Delivery>> {
    let source: Delivery[];
    if (query.event_id !== undefined) source = this.deliveriesIn(this.deliveriesByEvent.get(query.event_id));
    else if (query.subscription_id !== undefined) source = this.deliveriesIn(this.deliveriesBySubscription.get(query.subscription_id));
    else source = Object.values(this.data.deliveries).sort(byId);
    const keep = (d: Delivery) =>
      (query.subscription_id === undefined || d.subscription_id === query.subscription_id) && (!query.status || d.status === query.status);
    return pageNewestFirst(source, (d) => d.id, keep, query.limit, query.before);
  }

  async listAudit(query: AuditQuery): Promise<Page<AuditEntry>> {
    return pageNewestFirst(this.data.audit, (e) => e.id, (e) => (!query.actor || e.actor === query.actor) && (!query.since || e.at >= query.since), query.limit, query.before);
  }

  // ---- writes (Store) --------------------------------------------------------------------------

  /**
   * Runs `fn` with a transaction whose writes are applied to memory as they are made (so reads
   * through it, and through the store, see them) and undone if `fn` throws; then commits them as one
   * journal line. Transactions are not isolated from each other: this is one process and writers are
   * short. When the journal write fails the changes stay applied and pending, are written by the next
   * commit that succeeds, and the returned promise rejects so the caller does not go on as if they
   * were durable.
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
    for (const e of this.data.events) {
      // Events are in detection order: stop at the first one inside the retention window.
      if (e.payload.timestamp >= cutoff) break;
      if (e.dispatched && !keep.has(e.payload.id)) drop.add(e.payload.id);
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
  dump(): Readonly<StoreData> {
    const snapshots: StoreData['snapshots'] = {};
    for (const [key, map] of Object.entries(this.data.snapshots)) snapshots[key] = { ...map };
    return {
      version: 1,
      subscriptions: { ...this.data.subscriptions },
      resources: { ...this.data.resources },
      snapshots,
      events: [...this.data.events],
      deliveries: { ...this.data.deliveries },
      audit: [...this.data.audit],
      api_keys: { ...this.data.api_keys },
    };
  }

  async counts(): Promise<StoreCounts> {
    const deliveries = { pending: 0, succeeded: 0, failed: 0 };
    for (const d of Object.values(this.data.deliveries)) deliveries[d.status] += 1;
    const snapshots: Record<string, number> = {};
    for (const [key, map] of Object.entries(this.data.snapshots)) snapshots[key] = Object.keys(map).length;
    return {
      subscriptions: Object.keys(this.data.subscriptions).length,
      api_keys: Object.keys(this.data.api_keys).length,
      events: this.data.events.length,
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

  health(): StoreHealth {
    return { writable: this.writeError === null, reason: this.writeError, failedWrites: this.stats.failedWrites };
  }

  get location(): string {
    return this.dir;
  }

  /** The writes of one transaction; each records how to undo itself. */
  private txFor(undo: Array<() => void>): StoreTx & { closed: boolean } {
    const store = this;
    const guard = () => {
      if (tx.closed) throw new Error('transaction already finished');
    };
    const tx: StoreTx & { closed: boolean } = {
      closed: false,
      getSubscription: (id) => store.getSubscription(id),
      listSubscriptions: () => store.listSubscriptions(),
      getApiKey: (id) => store.getApiKey(id),
      findApiKeyByHash: (hash) => store.findApiKeyByHash(hash),
      listApiKeys: () => store.listApiKeys(),
      getResource: (key) => store.getResource(key),
      listResources: () => store.listResources(),
      getSnapshots: (resource, ids) => store.getSnapshots(resource, ids),
      liveSnapshotIds: (resource) => store.liveSnapshotIds(resource),
      liveSnapshots: (resource) => store.liveSnapshots(resource),
      countSnapshots: (resource) => store.countSnapshots(resource),
      getEvent: (id) => store.getEvent(id),
      listEvents: (q) => store.listEvents(q),
      getDelivery: (id) => store.getDelivery(id),
      listDeliveries: (q) => store.listDeliveries(q),
      listAudit: (q) => store.listAudit(q),
      putSubscription(sub) {
        guard();
        const before = store.data.subscriptions[sub.id];
        store.setSubscription(sub.id, deepFreeze(sub));
        undo.push(() => store.setSubscription(sub.id, before));
      },
      async deleteSubscription(id) {
        guard();
        const before = store.data.subscriptions[id];
        const deliveries = store.deliveriesIn(store.deliveriesBySubscription.get(id));
        store.setSubscription(id, undefined);
        for (const d of deliveries) store.removeDelivery(d.id);
        undo.push(() => {
          store.setSubscription(id, before);
          for (const d of deliveries) store.setDelivery(d);
        });
      },
      putApiKey(key) {
        guard();
        const before = store.data.api_keys[key.id];
        store.setApiKey(key.id, deepFreeze(key));
        undo.push(() => store.setApiKey(key.id, before));
      },
      deleteApiKey(id) {
        guard();
        const before = store.data.api_keys[id];
        store.setApiKey(id, undefined);
        undo.push(() => store.setApiKey(id, before));
      },
      putResource(key, state) {
        guard();
        const before = store.data.resources[key];
        store.setResource(key, deepFreeze(state));
        undo.push(() => store.setResource(key, before));
      },
      putSnapshot(resource, id, snapshot) {
        guard();
        const before = store.data.snapshots[resource]?.[id];
        store.setSnapshot(resource, id, deepFreeze(snapshot));
        undo.push(() => store.setSnapshot(resource, id, before));
      },
      deleteSnapshot(resource, id) {
        guard();
        const before = store.data.snapshots[resource]?.[id];
        store.setSnapshot(resource, id, undefined);
        undo.push(() => store.setSnapshot(resource, id, before));
      },
      appendEvents(events) {
        guard();
        const added = events.map((e) => deepFreeze({ payload: e.payload, dispatched: e.dispatched }));
        store.addEvents(added);
        undo.push(() => store.dropEvents(new Set(added.map((e) => e.payload.id))));
      },
      markDispatched(ids) {
        guard();
        for (const id of ids) {
          const before = store.eventIndex.get(id);
          if (!before || before.dispatched) continue;
          store.replaceEvent(deepFreeze({ payload: before.payload, dispatched: true }));
          undo.push(() => store.replaceEvent(before));
        }
      },
      putDelivery(delivery) {
        guard();
        const before = store.data.deliveries[delivery.id];
        store.setDelivery(deepFreeze(delivery));
        undo.push(() => (before ? store.setDelivery(before) : store.removeDelivery(delivery.id)));
      },
      appendAudit(entry) {
        guard();
        store.addAudit(deepFreeze(entry));
        undo.push(() => store.removeAudit(entry.id));
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

  private setSnapshot(resource: string, id: string, snapshot: Snapshot | undefined): void {
    const map = (this.data.snapshots[resource] ??= {});
    if (snapshot) map[id] = snapshot;
    else delete map[id];
    this.mark(`snap${SEP}${resource}${SEP}${id}`, snapshotPart(resource));
  }

  private addEvents(events: readonly StoredEvent[]): void {
    for (const e of events) {
      this.data.events.push(e);
      this.eventIndex.set(e.payload.id, e);
      this.markEvent(e.payload.id);
    }
  }

  /** Swaps an event's stored value (its `dispatched` flag) in place in the ordered list. */
  private replaceEvent(e: StoredEvent): void {
    const old = this.eventIndex.get(e.payload.id);
    if (!old) return;
    const i = this.data.events.lastIndexOf(old);
    if (i >= 0) this.data.events[i] = e;
    this.eventIndex.set(e.payload.id, e);
    this.markEvent(e.payload.id);
  }

  private markEvent(id: string): void {
    const e = this.eventIndex.get(id);
    const part = e ? eventPart(e.payload.timestamp) : this.partOf.get(`evt${SEP}${id}`);
    if (e) this.partOf.set(`evt${SEP}${id}`, eventPart(e.payload.timestamp));
    this.mark(`evt${SEP}${id}`, part ?? META_PART);
  }

  /** Removes events (retention, or undoing a transaction). */
  private dropEvents(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const id of ids) {
      this.markEvent(id);
      this.eventIndex.delete(id);
    }
    this.data.events = this.data.events.filter((e) => !ids.has(e.payload.id));
  }

  private setDelivery(d: Delivery): void {
    const old = this.data.deliveries[d.id];
    if (old) this.unindexDelivery(old);
    this.data.deliveries[d.id] = d;
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
  }

  private unindexDelivery(d: Delivery): void {
    // Empty sets go too: retention removes events for good, and their keys with them.
    for (const [index, key] of [[this.deliveriesByEvent, d.event_id], [this.deliveriesBySubscription, d.subscription_id]] as const) {
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
  commit(): Promise<void> {
    if (this.options.readOnly) return Promise.reject(new Error('store is open read-only'));
    if (this.queued) return this.queued;
    const previous = this.inFlight;
    const next = (async () => {
      // Always yield before collecting: `this.queued` must be assigned (below) before it is cleared
      // here, and commits made in the same tick share this line.
      await (previous ?? Promise.resolve()).catch(() => undefined);
      this.queued = null;
      if (this.pending.size === 0) return;
      const keys = this.pending;
      this.pending = new Set();
      const line = this.codec.encode(JSON.stringify({ seq: ++this.seq, ops: [...keys].map((k) => this.opFor(k)) } satisfies JournalLine));
      const started = performance.now();
      const write = this.journal!.append(line);
      this.inFlight = write;
      try {
        await write;
        this.stats.commits += 1;
        this.stats.lastCommitMs = performance.now() - started;
        metrics.storeCommit.observe(this.stats.lastCommitMs / 1000);
        this.writeError = null;
      } catch (err) {
        for (const k of keys) this.pending.add(k);
        this.stats.failedWrites += 1;
        metrics.storeWriteFailures.inc();
        this.writeError = `journal write failed: ${err instanceof Error ? err.message : String(err)}`;
        throw err;
      } finally {
        if (this.inFlight === write) this.inFlight = null;
      }
      // Amortised: a checkpoint rewrites what changed, so wait until the journal holds at least twice
      // what the last one wrote (an initial sync would otherwise rewrite its growing snapshots again
      // and again).
      const threshold = Math.max(this.options.checkpointBytes, 2 * this.lastCheckpointBytes);
      if (this.journal!.size > threshold && !this.checkpointing) void this.checkpoint().catch(() => undefined);
    })();
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

  private async runCheckpoint(): Promise<void> {
    const started = performance.now();
    // The cut: one synchronous step serialises every changed part, so the parts are a consistent
    // view of memory, and later commits go to the next journal. Changes still pending are in the parts
    // and will also be journaled; replaying them is harmless (every op is a whole value).
    const parts = [...this.dirtyParts];
    this.dirtyParts = new Set();
    const contents = this.partContents(new Set(parts)).map(({ part, content }) => ({
      part,
      empty: isEmptyPart(content),
      text: isEmptyPart(content) ? '' : this.codec.encode(JSON.stringify(content)),
    }));
    const newGen = this.gen + 1;
    this.gen = newGen;
    const oldJournal = this.journal!;
    this.journal = new Journal(join(this.dir, journalFile(newGen)));
    // A commit collected before the cut may still be writing to the old journal.
    await this.inFlight?.catch(() => undefined);
    await oldJournal.close();

    try {
      const manifest: Manifest = { version: 2, gen: newGen, parts: { ...this.manifest.parts } };
      this.lastCheckpointBytes = contents.reduce((n, c) => n + c.text.length, 0);
      for (const { part, empty, text } of contents) {
        if (empty) {
          delete manifest.parts[part];
          continue;
        }
        const fileName = partFile(part, newGen);
        await new DurableJsonFile<PartContent>(join(this.dir, fileName), this.codec).writeText(text);
        manifest.parts[part] = fileName;
      }
      // Keep the previous checkpoint as the backup, then switch in one rename.
      const backup = this.manifest;
      if (backup.gen > 0 || Object.keys(backup.parts).length > 0) {
        await copyFile(this.file, `${this.file}.bak`);
        const bak = await open(`${this.file}.bak`, 'r+');
        await bak.sync().finally(() => bak.close());
      }
      await new Low<Manifest>(new DurableJsonFile<Manifest>(this.file, this.codec), manifest).write();
      this.manifest = manifest;
      await this.removeUnreferenced(backup, manifest);
      this.stats.checkpoints += 1;
      this.stats.lastCheckpointMs = performance.now() - started;
    } catch (err) {
      for (const part of parts) this.dirtyParts.add(part);
      throw err;
    }
  }

  /**
   * Rewrites the whole store with another codec (`npm run store -- encrypt|decrypt|rekey`): every
   * part is written anew, then every file of the old encoding — backup manifest and journals included —
   * is removed, so no plaintext (or old-key) copy is left behind.
   */
  async reencode(codec: Codec): Promise<void> {
    await this.flush();
    if (this.pending.size > 0) await this.commit();
    await this.checkpointing?.catch(() => undefined);
    this.codec = codec;
    for (const part of this.allParts()) this.dirtyParts.add(part);
    await this.checkpoint();
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
    if (this.dirtyParts.size > 0) await this.checkpoint();
    await this.journal?.close();
    await this.releaseLock?.();
  }

  // ---- internals -------------------------------------------------------------------------------

  private mark(key: string, part: string): void {
    this.pending.add(key);
    this.dirtyParts.add(part);
  }

  /** The journal op for a changed entity: its current value, or its removal. */
  private opFor(key: string): Op {
    const [t, a, b] = key.split(SEP) as [Op['t'], string, string | undefined];
    switch (t) {
      case 'sub':
        return { t, id: a, v: this.data.subscriptions[a] };
      case 'res':
        return { t, k: a, v: this.data.resources[a] };
      case 'snap':
        return { t, k: a, id: b!, v: this.data.snapshots[a]?.[b!] };
      case 'evt':
        return { t, id: a, v: this.eventIndex.get(a) };
      case 'dlv':
        return { t, id: a, v: this.data.deliveries[a] };
      case 'aud':
        return { t, id: a, v: this.auditIndex.get(a) };
      case 'key':
        return { t, id: a, v: this.data.api_keys[a] };
    }
  }

  private apply(op: Op, removedEvents: Set<string>): void {
    switch (op.t) {
      case 'sub':
        if (op.v) this.data.subscriptions[op.id] = op.v;
        else delete this.data.subscriptions[op.id];
        return;
      case 'res':
        if (op.v) this.data.resources[op.k] = op.v;
        else delete this.data.resources[op.k];
        return;
      case 'snap': {
        const map = (this.data.snapshots[op.k] ??= {});
        if (op.v) map[op.id] = op.v;
        else delete map[op.id];
        return;
      }
      case 'evt': {
        const existing = this.eventIndex.get(op.id);
        if (!op.v) {
          removedEvents.add(op.id);
          this.eventIndex.delete(op.id);
        } else if (existing) {
          Object.assign(existing, op.v);
          removedEvents.delete(op.id);
        } else {
          this.data.events.push(op.v);
          this.eventIndex.set(op.id, op.v);
          removedEvents.delete(op.id);
        }
        return;
      }
      case 'dlv':
        if (op.v) this.data.deliveries[op.id] = op.v;
        else delete this.data.deliveries[op.id];
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
        return META_PART;
      case 'snap':
        return snapshotPart(op.k);
      case 'evt': {
        const e = op.v ?? this.eventIndex.get(op.id);
        return e ? eventPart(e.payload.timestamp) : (this.partOf.get(`evt${SEP}${op.id}`) ?? META_PART);
      }
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
    this.eventIndex.clear();
    this.partOf.clear();
    for (const e of this.data.events) {
      this.eventIndex.set(e.payload.id, e);
      this.partOf.set(`evt${SEP}${e.payload.id}`, eventPart(e.payload.timestamp));
    }
    this.deliveriesByEvent.clear();
    this.deliveriesBySubscription.clear();
    for (const d of Object.values(this.data.deliveries)) {
      this.partOf.set(`dlv${SEP}${d.id}`, deliveryPart(d.created_at));
      this.indexDelivery(d);
    }
  }

  /** Every part the current data occupies. */
  private allParts(): Set<string> {
    const parts = new Set<string>([META_PART, ...Object.keys(this.manifest.parts)]);
    for (const key of Object.keys(this.data.snapshots)) parts.add(snapshotPart(key));
    for (const e of this.data.events) parts.add(eventPart(e.payload.timestamp));
    for (const d of Object.values(this.data.deliveries)) parts.add(deliveryPart(d.created_at));
    for (const e of this.data.audit) parts.add(auditPart(e.at));
    return parts;
  }

  /** The content of each wanted part, gathered in one pass over events and deliveries. */
  private partContents(wanted: ReadonlySet<string>): Array<{ part: string; content: PartContent }> {
    const out = new Map<string, PartContent>();
    for (const part of wanted) {
      if (part === META_PART) out.set(part, { kind: 'meta', subscriptions: this.data.subscriptions, resources: this.data.resources, api_keys: this.data.api_keys });
      else if (part.startsWith('evt.')) out.set(part, { kind: 'evt', events: [] });
      else if (part.startsWith('dlv.')) out.set(part, { kind: 'dlv', deliveries: [] });
      else if (part.startsWith('aud.')) out.set(part, { kind: 'aud', entries: [] });
      else if (part.startsWith('snap.')) {
        const key = Object.keys(this.data.snapshots).find((k) => snapshotPart(k) === part);
        out.set(part, { kind: 'snap', key: key ?? part, snapshots: key ? this.data.snapshots[key]! : {} });
      }
    }
    if ([...wanted].some((p) => p.startsWith('evt.'))) {
      for (const e of this.data.events) {
        const c = out.get(eventPart(e.payload.timestamp));
        if (c?.kind === 'evt') c.events.push(e);
      }
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
    const keep = new Set([...Object.values(backup.parts), ...Object.values(current.parts)]);
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

function isEmptyPart(content: PartContent): boolean {
  if (content.kind === 'evt') return content.events.length === 0;
  if (content.kind === 'dlv') return content.deliveries.length === 0;
  if (content.kind === 'snap') return Object.keys(content.snapshots).length === 0;
  if (content.kind === 'aud') return content.entries.length === 0;
  return false;
}


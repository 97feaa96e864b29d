import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { DurableJsonFile } from './durable-file.js';
import { emptyStore, withSubscriptionDefaults, type StoreData, type StoredEvent } from './schema.js';

/**
 * The bridge's state in one lowdb file, with group commit.
 *
 * Callers change `data` synchronously, then call `commit()`. Commits that arrive while a write is in
 * flight share the next write, so a burst of changes costs one or two file writes, not one each.
 * A caller that must not continue before its change is on disk (the poller before it dispatches
 * events, the admin API before it answers 201/202) awaits `commit()`.
 */
export class Store {
  readonly file: string;
  private readonly db: Low<StoreData>;
  private readonly adapter: DurableJsonFile<StoreData>;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private readonly eventIndex = new Map<string, StoredEvent>();
  /** Write count and last write duration (ms), for logs and benchmarks. */
  readonly stats = { writes: 0, lastWriteMs: 0 };

  constructor(dataDir: string) {
    this.file = join(dataDir, 'bridge.json');
    this.adapter = new DurableJsonFile<StoreData>(this.file);
    this.db = new Low(this.adapter, emptyStore());
  }

  /**
   * Loads the file (an empty store when there is none).
   * @throws StoreCorruptError when the file is unreadable; it is never overwritten then.
   */
  async load(): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    await this.adapter.removeStaleTemp();
    await this.db.read();
    this.db.data = { ...emptyStore(), ...this.db.data };
    for (const [id, sub] of Object.entries(this.db.data.subscriptions)) this.db.data.subscriptions[id] = withSubscriptionDefaults(sub);
    this.eventIndex.clear();
    for (const e of this.db.data.events) this.eventIndex.set(e.payload.id, e);
  }

  get data(): StoreData {
    return this.db.data;
  }

  /** Appends events (already in detection order) and indexes them. Persisted by the next commit. */
  appendEvents(events: StoredEvent[]): void {
    for (const e of events) {
      this.db.data.events.push(e);
      this.eventIndex.set(e.payload.id, e);
    }
  }

  getEvent(id: string): StoredEvent | undefined {
    return this.eventIndex.get(id);
  }

  /**
   * Schedules a write of the whole state and resolves once a write that started after this call
   * finished (so it includes every change made before the call).
   * @throws the file system error if that write failed; the in-memory state is kept and the next
   *   commit tries again.
   */
  commit(): Promise<void> {
    if (this.queued) return this.queued;
    const previous = this.inFlight;
    const next = (async () => {
      // Always yield before serialising: `this.queued` must be assigned (below) before it is
      // cleared here, and commits made in the same tick share this write.
      await (previous ?? Promise.resolve()).catch(() => undefined);
      // From here on, new commits must queue behind this write: it serialises now.
      this.queued = null;
      const started = performance.now();
      const write = this.db.write();
      this.inFlight = write;
      try {
        await write;
        this.stats.writes += 1;
        this.stats.lastWriteMs = performance.now() - started;
      } finally {
        if (this.inFlight === write) this.inFlight = null;
      }
    })();
    this.queued = next;
    return next;
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    while (this.queued || this.inFlight) await (this.queued ?? this.inFlight)!.catch(() => undefined);
  }
}

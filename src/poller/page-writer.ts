import type { ResourceLocks } from './resource-lock.js';

/**
 * Pages that run ahead of durability by default on the embedded store (issue "Large clinics on the
 * embedded store", initial sync): up to this many pages of a resource applied but not yet durable,
 * so one journal line (one fsync) carries several pages instead of one. A crash loses only pages
 * never made durable, and their cursor with them: they are read again.
 */
export const DEFAULT_PAGES_AHEAD = 8;

export interface PageWriterOptions {
  /** The resource (`source:resource`) whose lock the writer holds while pages are in flight. */
  key: string;
  locks: ResourceLocks;
  /**
   * Pages applied but not yet durable at most (≥ 1). 1 is the behaviour a store without ordered
   * group commit needs (PostgreSQL): a page is durable before the next is applied.
   */
  pagesAhead: number;
  /**
   * Whether the store's writes currently succeed. A failed journal line undoes its transactions in
   * memory at once; no page is applied after that until the pages in flight settled, so no later
   * page's cursor lands on disk past an unrecorded one.
   */
  writable: () => boolean;
}

/**
 * Writes the pages of one poll or one first-pass attempt of a resource, each page still one store
 * transaction with its snapshots, events and cursor, with up to `pagesAhead` of them applied but not
 * yet durable (the embedded store commits transactions in the order they were made and groups those
 * made while a journal line is written into the next line).
 *
 * - `durable` callbacks run in page order, each once its page and every page before it are durable:
 *   that is where the caller moves its own copy of the cursor and hands events on. After a failed
 *   write no later callback runs, so the caller's copy never passes an unrecorded page.
 * - The resource's lock is held from the first page read until every page in flight is durable, and
 *   let go between pages when another writer of the resource waits, so a first pass's pages and a
 *   poll's batches never interleave their snapshot reads and writes.
 *
 * @example
 * const writer = new PageWriter({ key, locks, pagesAhead: 8, writable: () => store.health().writable });
 * try {
 *   for await (const page of pages) {
 *     await writer.next();              // room, and the lock
 *     const draft = apply(page);        // reads snapshots under the lock
 *     writer.write(() => store.transaction((tx) => record(tx, draft)), () => keep(draft));
 *   }
 *   await writer.drain();               // throws the first failed write
 * } finally {
 *   await writer.settle();
 * }
 */
export class PageWriter {
  private inFlight = 0;
  /** Settles once every page written so far is durable (or rejects with the first failure). */
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private failure: unknown = undefined;
  private release: (() => void) | null = null;
  /** Between `next` and `write`/`skip`: a page is being applied under the lock. */
  private applying = false;
  private readonly roomWaiters: Array<() => void> = [];

  constructor(private readonly options: PageWriterOptions) {}

  /** Pages applied and not yet durable. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Waits for room (fewer than `pagesAhead` pages in flight) and takes the resource's lock for the
   * next page, letting it go first (once the pages in flight are durable) if another writer waits.
   * @throws the error of a failed earlier write
   */
  async next(): Promise<void> {
    this.throwIfFailed();
    if (this.release && this.options.locks.contended(this.options.key)) await this.drain();
    while (this.inFlight >= Math.max(1, this.options.pagesAhead)) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      this.throwIfFailed();
    }
    this.applying = true;
    if (!this.release) this.release = await this.options.locks.acquire(this.options.key);
  }

  /**
   * Starts the write of the page prepared since `next` (`commit` applies it and resolves once it is
   * durable); `durable` runs when it and every earlier page are durable.
   * @throws the error of a failed earlier write, when one failed while this page was prepared (the
   *   page is then not applied)
   */
  async write(commit: () => Promise<void>, durable: () => void): Promise<void> {
    if (this.inFlight > 0 && !this.options.writable()) {
      // A line failed and was undone in memory: let every page in flight settle before applying
      // anything more. The lock stays held meanwhile, so when none of ours failed (another writer's
      // line did) the snapshots this page was prepared from are still the resource's.
      await this.chain.catch(() => undefined);
      this.throwIfFailed();
    }
    this.applying = false;
    this.inFlight += 1;
    const own = commit();
    own.catch(() => undefined);
    const previous = this.chain;
    this.chain = (async () => {
      try {
        await previous;
        await own;
        durable();
      } catch (err) {
        if (!this.failed) {
          this.failed = true;
          this.failure = err;
        }
        throw err;
      } finally {
        this.inFlight -= 1;
        this.roomWaiters.shift()?.();
        this.releaseIfIdle();
      }
    })();
    this.chain.catch(() => undefined);
  }

  /** The page prepared since `next` needed no write. */
  skip(): void {
    this.applying = false;
    this.releaseIfIdle();
  }

  /**
   * Waits until every page written is durable and lets the lock go.
   * @throws the first failed write's error
   */
  async drain(): Promise<void> {
    this.applying = false;
    await this.chain.catch(() => undefined);
    this.releaseIfIdle();
    this.throwIfFailed();
  }

  /** Waits until every page written has succeeded or failed and lets the lock go; never throws. */
  async settle(): Promise<void> {
    this.applying = false;
    await this.chain.catch(() => undefined);
    this.releaseIfIdle();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }

  private releaseIfIdle(): void {
    if (this.inFlight > 0 || this.applying || !this.release) return;
    const release = this.release;
    this.release = null;
    release();
    // Room waiters are woken by writes settling; a failure wakes them all to see it.
    if (this.failed) for (const wake of this.roomWaiters.splice(0)) wake();
  }
}

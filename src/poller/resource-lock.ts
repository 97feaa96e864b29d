/**
 * One lock per resource: a poll's batches and a first pass's pages read and write a resource's
 * snapshots one writer at a time, in the order they asked. A writer that keeps pages in flight
 * checks {@link ResourceLocks.contended} and lets the lock go when another writer waits.
 */
export class ResourceLocks {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();

  /**
   * Takes the lock of `key` once every earlier holder released it. Resolves with the function that
   * releases it (call it exactly once).
   */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const mine = previous.then(() => gate);
    this.tails.set(key, mine);
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    try {
      await previous;
    } finally {
      const n = (this.waiting.get(key) ?? 1) - 1;
      if (n > 0) this.waiting.set(key, n);
      else this.waiting.delete(key);
    }
    return () => {
      open();
      if (this.tails.get(key) === mine) this.tails.delete(key);
    };
  }

  /** Whether another writer is waiting for the lock of `key`. */
  contended(key: string): boolean {
    return (this.waiting.get(key) ?? 0) > 0;
  }

  /** Runs `fn` under the lock of `key`. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

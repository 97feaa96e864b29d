import type { Poller } from './poller.js';

/** Several pollers (one per source, each on its own schedule) seen as one by the admin API. */
export class PollerGroup {
  constructor(readonly pollers: readonly Poller[]) {}

  /** Polls every source now; resolves when all cycles ended. */
  async pollNow(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.pollNow()));
  }

  describe(): ReturnType<Poller['describe']> {
    return this.pollers.flatMap((p) => p.describe());
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
  }
}

import type { BudgetView, Poller, ReadProgressView, ResourceView } from './poller.js';

/** Several pollers (one per source, each on its own schedule) seen as one by the admin API. */
export class PollerGroup {
  constructor(readonly pollers: readonly Poller[]) {}

  /** Polls every source now; resolves when all cycles ended. */
  /** Reads every resource's stored state (before the first poll). */
  async restore(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.restore()));
  }

  async pollNow(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.pollNow()));
  }

  describe(): ResourceView[] {
    return this.pollers.flatMap((p) => p.describe());
  }

  budgets(): BudgetView[] {
    return this.pollers.flatMap((p) => p.budgets());
  }

  /**
   * Starts a backfill of `resource` (`patients` or `cliniko:patients`) in the poller that has it.
   * @returns its progress, or null when no source has that resource
   */
  backfill(resource: string): ReadProgressView | null {
    for (const p of this.pollers) {
      const progress = p.backfill(resource);
      if (progress) return progress;
    }
    return null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
  }
}

import { createHash } from 'node:crypto';
import type { SharedStore } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';

/**
 * An API key's request budget as one budget over every bridge process sharing a store
 * (PostgreSQL): each request start is granted by the database (`SharedStore.takeRequestSlot`), so the
 * processes together never start more than `perMinute` requests in any 60 s, whichever of them holds
 * which resources; an upstream 429 seen by one process holds them all (`pauseUntil`).
 *
 * It sits behind the process's own `RateLimiter`, which still orders this process's requests by
 * urgency and keeps its own count; this adds the wait the other processes' requests impose. With the
 * embedded store (one process) there is none: the `RateLimiter` alone is the budget.
 */
export class SharedRequestBudget {
  /** What the database knows the key by: a SHA-256 of source and key, never the key itself. */
  readonly key: string;

  /**
   * @param source the upstream (`cliniko`), so two sources' keys never share a budget
   * @param apiKey the key whose limit this is; only its hash leaves the process
   * @param perMinute starts allowed in any 60 s over all processes (the key's limit minus headroom)
   */
  constructor(
    private readonly store: Pick<SharedStore, 'takeRequestSlot' | 'pauseRequests'>,
    source: string,
    apiKey: string,
    readonly perMinute: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.key = createHash('sha256').update(`${source}\0${apiKey}`).digest('hex');
  }

  /**
   * Resolves once the shared budget granted one request start; waits as long as the database says.
   * @throws the signal's reason if aborted while waiting; the database error when it cannot be asked
   *   (the request is not sent then: an unreachable store must not lift the limit).
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const waitMs = await this.store.takeRequestSlot(this.key, this.perMinute);
      if (waitMs <= 0) return;
      await this.clock.sleep(waitMs, signal);
    }
  }

  /** Holds every process's requests with this key until `untilMs` (epoch ms). Best effort: errors are ignored. */
  pauseUntil(untilMs: number): void {
    this.store.pauseRequests(this.key, untilMs).catch(() => undefined);
  }
}

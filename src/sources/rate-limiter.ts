import { sleep } from '../util/sleep.js';

const WINDOW_MS = 60_000;

/**
 * Keeps a key's requests within `perMinute` over any sliding 60 s window, and holds every request
 * while an upstream 429 says to wait (Cliniko: 200 requests/min per user, notes/cliniko-api.md).
 * Requests are served in arrival order.
 */
export class RateLimiter {
  private readonly starts: number[] = [];
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when one more request may start; rejects with the signal's reason if aborted. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForSlot(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Holds all requests until `untilMs` (epoch ms), e.g. from `X-RateLimit-Reset`. */
  pauseUntil(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }

  /** Requests started in the last 60 s. */
  recentCount(): number {
    this.prune();
    return this.starts.length;
  }

  private prune(): void {
    const cutoff = this.now() - WINDOW_MS;
    while (this.starts.length > 0 && this.starts[0]! <= cutoff) this.starts.shift();
  }

  private async waitForSlot(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.prune();
      const now = this.now();
      let waitMs = this.pausedUntil - now;
      if (this.starts.length >= this.perMinute) waitMs = Math.max(waitMs, this.starts[0]! + WINDOW_MS - now);
      if (waitMs <= 0) {
        this.starts.push(now);
        return;
      }
      await sleep(waitMs, signal);
    }
  }
}

/** Where a key stands in its current window; `resetSeconds` is UNIX seconds. */
export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export const WINDOW_MS = 60_000;

/**
 * Cliniko's limit: a number of requests per minute per user (Cliniko API docs, "Limits and
 * errors"), here per API key in fixed 60 s windows aligned to the clock's minutes. Over the limit,
 * Cliniko answers 429 with `X-RateLimit-Reset`, the UNIX second the window resets.
 */
export class FixedWindowRateLimit {
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Counts one request for `key`. */
  hit(key: string): RateLimitState {
    const window = this.window(key);
    window.count += 1;
    return this.state(window);
  }

  /** The state without counting a request. */
  peek(key: string): RateLimitState {
    return this.state(this.window(key));
  }

  private window(key: string): { startMs: number; count: number } {
    const startMs = Math.floor(this.now() / WINDOW_MS) * WINDOW_MS;
    let window = this.windows.get(key);
    if (!window || window.startMs !== startMs) {
      window = { startMs, count: 0 };
      this.windows.set(key, window);
    }
    return window;
  }

  private state(window: { startMs: number; count: number }): RateLimitState {
    return {
      allowed: window.count <= this.limit,
      limit: this.limit,
      remaining: Math.max(0, this.limit - window.count),
      resetSeconds: (window.startMs + WINDOW_MS) / 1000,
    };
  }
}

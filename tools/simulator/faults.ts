/**
 * A fault to inject into upcoming responses, so clients can be tested against the failures a real
 * API produces: 5xx, 429 (with `X-RateLimit-Reset`, Cliniko API docs "Limits and errors"), a
 * truncated JSON body, or a slow response.
 */
export interface FaultSpec {
  /** Answer with this status instead, e.g. 500, 503 or 429. */
  status?: number;
  /** The `message` of that answer's JSON body (default `Injected fault: HTTP <status>`). */
  message?: string;
  /** Answer 200 with a truncated JSON body. */
  malformed?: boolean;
  /** Respond after this delay; alone it slows an otherwise normal response. */
  delayMs?: number;
  /**
   * For 429 and 503: also send `Retry-After` and `X-RateLimit-Reset` this many seconds ahead.
   * A 429 always carries `X-RateLimit-Reset` (default 5 s ahead); `Retry-After`, which Cliniko does
   * not document, is sent only when this is set.
   */
  retryAfterSeconds?: number;
  /** How many matching requests get it (default 1). */
  times?: number;
  /** Only requests whose path contains this, e.g. `/contacts` (default all). */
  pathIncludes?: string;
}

export const DEFAULT_RETRY_AFTER_SECONDS = 5;

interface Pending {
  spec: FaultSpec;
  remaining: number;
}

/** Injected faults, consumed in the order they were injected. */
export class FaultQueue {
  private pending: Pending[] = [];

  add(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (times > 0) this.pending.push({ spec: { ...spec }, remaining: times });
  }

  clear(): void {
    this.pending = [];
  }

  /** The first fault that applies to `path`, without consuming it. */
  peek(path: string): FaultSpec | undefined {
    return this.find(path)?.spec;
  }

  /** Consumes one use of the first fault that applies to `path`. */
  take(path: string): FaultSpec | undefined {
    const entry = this.find(path);
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.pending.splice(this.pending.indexOf(entry), 1);
    return entry.spec;
  }

  private find(path: string): Pending | undefined {
    return this.pending.find((p) => p.spec.pathIncludes === undefined || path.includes(p.spec.pathIncludes));
  }
}

import { UpstreamError } from '../errors.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { RateLimiter, type AcquireOptions } from '../rate-limiter.js';
import { SharedRequestBudget } from '../cross-process-budget.js';
import { isSuccess, parseJson, statusError, UpstreamHttp } from '../upstream-http.js';

/** Connection settings of a Cliniko API client (https://docs.api.cliniko.com/, "Making requests"). */
export interface ClinikoClientOptions {
  /** e.g. `https://api.au1.cliniko.com/v1`, no trailing slash. */
  baseUrl: string;
  apiKey: string;
  /** `Vendor name (email)`. */
  userAgent: string;
  /** The key's upstream limit (Cliniko: 200 requests per minute per user). */
  rateLimitPerMin: number;
  /**
   * Share of `rateLimitPerMin` left unused for the clinic's other tools, in percent (default 10):
   * the bridge's budget is `floor(rateLimitPerMin * (100 - headroomPercent) / 100)`.
   */
  headroomPercent?: number;
  requestTimeoutMs: number;
  /** Clock of the budget and of `X-RateLimit-Reset` arithmetic (default: the system clock). */
  clock?: Clock;
  /** Several bridge processes on one store: the key's budget is one budget over all of them. */
  shared?: ConstructorParameters<typeof SharedRequestBudget>[0];
}

/** The part of the key's limit the bridge leaves to other tools unless configured otherwise. */
export const DEFAULT_HEADROOM_PERCENT = 10;

/** Query values; arrays repeat the key (`q[]=a&q[]=b`). */
export type Query = Record<string, string | number | readonly string[] | undefined>;

/**
 * A read-only Cliniko API v1 client: Basic auth with the key, `Accept` and `User-Agent` on every
 * request, one request budget per key, over the shared {@link UpstreamHttp}. Every failure becomes an
 * `UpstreamError`: 429 (pauses the budget until `Retry-After`, else `X-RateLimit-Reset`), 5xx,
 * 401/403, timeouts, network errors, malformed JSON, and the documented 400 "not searchable".
 */
export class ClinikoClient {
  /** The key's request budget: every request of every feed sharing this client goes through it. */
  readonly limiter: RateLimiter;
  /** With a shared store, the same budget counted over every process (after `limiter`). */
  private readonly shared: SharedRequestBudget | null;
  /** The clock of the budget, which the key's feeds read too. */
  readonly clock: Clock;
  private readonly authorization: string;
  private readonly http: UpstreamHttp;
  private readonly now: () => number;
  private active = 0;

  constructor(private readonly options: ClinikoClientOptions) {
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.now = () => clock.now();
    const headroom = options.headroomPercent ?? DEFAULT_HEADROOM_PERCENT;
    const budget = Math.max(1, Math.floor((options.rateLimitPerMin * (100 - headroom)) / 100));
    this.limiter = new RateLimiter(budget, clock, options.rateLimitPerMin);
    this.shared = options.shared ? new SharedRequestBudget(options.shared, 'cliniko', options.apiKey, budget, clock) : null;
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}`;
    this.http = new UpstreamHttp({ source: 'cliniko', requestTimeoutMs: options.requestTimeoutMs });
  }

  /** Absolute URL for a path under the base URL (`patients/deleted`) and a query. */
  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.options.baseUrl}/${path.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, v);
      else url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Requests sent and not yet answered (tests use it to tell when the bridge is idle). */
  get inFlight(): number {
    return this.active;
  }

  /**
   * GETs an absolute URL (e.g. a `links.next`) and parses the JSON body, after the budget granted a
   * slot (`budget.tag` counts it for a resource, `budget.priority` orders it when requests queue).
   * @throws UpstreamError for anything but a 2xx with a JSON object body.
   */
  async getJson(url: string, signal?: AbortSignal, budget?: AcquireOptions): Promise<Record<string, unknown>> {
    await this.limiter.acquire(signal, budget);
    await this.shared?.acquire(signal);
    this.active += 1;
    try {
      return await this.send(url, signal);
    } finally {
      this.active -= 1;
    }
  }

  private async send(url: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const where = `GET ${redactUrl(url)}`;
    const res = await this.http.send('GET', url, {
      where,
      headers: { authorization: this.authorization, accept: 'application/json', 'user-agent': this.options.userAgent },
      signal,
    });
    if (!isSuccess(res.status)) {
      // The body is read for this documented condition only, never kept:
      // 400 {"message":"This column is not searchable."}.
      if (res.status === 400 && /not searchable/i.test(res.text)) {
        throw new UpstreamError({ kind: 'client', message: `${where}: 400 column not searchable`, status: 400, reason: 'not_searchable' });
      }
      const err = statusError(res, where, this.now());
      if (err.kind === 'rate_limited') {
        this.limiter.pauseUntil(this.now() + err.retryAfterMs!);
        this.shared?.pauseUntil(this.now() + err.retryAfterMs!);
      }
      throw err;
    }
    const parsed = parseJson(res, where);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    throw new UpstreamError({ kind: 'malformed', message: `${where}: response is not a JSON object`, status: res.status });
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** URLs carry filters but never credentials; the query is left out of messages all the same. */
function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search ? '?…' : ''}`;
}

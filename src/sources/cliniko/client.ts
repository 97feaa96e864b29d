import { Agent, request, errors as undiciErrors } from 'undici';
import { metrics } from '../../metrics.js';
import { parseRetryAfter, readLimited } from '../../util/http.js';
import { RateLimiter, systemClock, type AcquireOptions, type Clock } from '../rate-limiter.js';
import { UpstreamError } from '../errors.js';

/** Connection settings of a Cliniko API client (notes/cliniko-api.md, Requests). */
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
  /** @deprecated use `clock`; kept for callers that only inject `now`. */
  now?: () => number;
}

/** The part of the key's limit the bridge leaves to other tools unless configured otherwise. */
export const DEFAULT_HEADROOM_PERCENT = 10;

/** Query values; arrays repeat the key (`q[]=a&q[]=b`). */
export type Query = Record<string, string | number | readonly string[] | undefined>;

const MAX_ERROR_BODY_BYTES = 2048;

/**
 * A read-only Cliniko API v1 client: Basic auth with the key, `Accept` and `User-Agent` on every
 * request, one request budget per key, request timeout. Every failure becomes an `UpstreamError`:
 * 429 (waits for `X-RateLimit-Reset`, or `Retry-After` when present), 5xx, timeouts, network errors,
 * malformed JSON.
 */
export class ClinikoClient {
  /** The key's request budget: every request of every feed sharing this client goes through it. */
  readonly limiter: RateLimiter;
  private readonly authorization: string;
  private readonly agent: Agent;
  private readonly now: () => number;
  private active = 0;

  constructor(private readonly options: ClinikoClientOptions) {
    const clock: Clock = options.clock ?? (options.now ? { now: options.now, sleep: systemClock.sleep } : systemClock);
    this.now = () => clock.now();
    const headroom = options.headroomPercent ?? DEFAULT_HEADROOM_PERCENT;
    const budget = Math.max(1, Math.floor((options.rateLimitPerMin * (100 - headroom)) / 100));
    this.limiter = new RateLimiter(budget, clock, options.rateLimitPerMin);
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}`;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: { timeout: options.requestTimeoutMs },
    });
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
    this.active += 1;
    try {
      return await this.send(url, signal);
    } finally {
      this.active -= 1;
    }
  }

  private async send(url: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headers: { authorization: this.authorization, accept: 'application/json', 'user-agent': this.options.userAgent },
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.options.requestTimeoutMs)]) : AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const timedOut =
        err instanceof undiciErrors.HeadersTimeoutError ||
        err instanceof undiciErrors.ConnectTimeoutError ||
        (err as Error).name === 'TimeoutError' ||
        (err as Error).name === 'AbortError';
      metrics.upstreamRequests.inc({ source: 'cliniko', status: timedOut ? 'timeout' : 'network' });
      throw new UpstreamError(timedOut ? 'timeout' : 'network', `GET ${redactUrl(url)}: ${(err as Error).message}`);
    }

    const { statusCode, headers, body } = res;
    metrics.upstreamRequests.inc({ source: 'cliniko', status: String(statusCode) });
    if (statusCode === 429) metrics.rateLimited.inc({ source: 'cliniko' });
    if (statusCode < 200 || statusCode >= 300) {
      // Read for the documented conditions only, never kept: error bodies can echo request data, and
      // the message reaches logs and GET /v1/sources.
      const errorBody = await readLimited(body, MAX_ERROR_BODY_BYTES);
      if (statusCode === 429) {
        const retryAfterMs = this.retryAfterMs(headers);
        this.limiter.pauseUntil(this.now() + retryAfterMs);
        throw new UpstreamError('rate_limited', `GET ${redactUrl(url)}: 429 rate limited for ${retryAfterMs} ms`, 429, retryAfterMs);
      }
      const kind = statusCode >= 500 ? 'server' : statusCode === 401 || statusCode === 403 ? 'auth' : 'client';
      // 400 {"message":"This column is not searchable."} (notes/cliniko-api.md, Lists).
      if (statusCode === 400 && /not searchable/i.test(errorBody)) {
        throw new UpstreamError('client', `GET ${redactUrl(url)}: 400 column not searchable`, 400, undefined, 'not_searchable');
      }
      throw new UpstreamError(kind, `GET ${redactUrl(url)}: ${statusCode}`, statusCode);
    }

    let text: string;
    try {
      text = await body.text();
    } catch (err) {
      throw new UpstreamError('network', `GET ${redactUrl(url)}: body failed: ${(err as Error).message}`, statusCode);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through: a truncated or non-JSON body is the same failure as a wrong shape
    }
    throw new UpstreamError('malformed', `GET ${redactUrl(url)}: response is not a JSON object`, statusCode);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Milliseconds to wait after a 429: `Retry-After` if present, else `X-RateLimit-Reset` (UNIX s), else 60 s. */
  private retryAfterMs(headers: Record<string, string | string[] | undefined>): number {
    const retryAfter = parseRetryAfter(headers['retry-after'], this.now());
    if (retryAfter !== null) return retryAfter;
    const reset = Number(header(headers, 'x-ratelimit-reset'));
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - this.now());
    return 60_000;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}


/** URLs carry filters but never credentials; strip anything after `?` longer than needed for logs. */
function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search ? '?…' : ''}`;
}

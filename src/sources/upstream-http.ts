import { Agent, request, errors as undiciErrors } from 'undici';
import { metrics } from '../metrics.js';
import { parseRetryAfter, readLimited } from '../util/http.js';
import { UpstreamError, type UpstreamErrorKind } from './errors.js';

/** Headers as undici returns them. */
export type Headers = Record<string, string | string[] | undefined>;

/** An answer of an upstream API, whatever its status. */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /** The body as text: all of it for a 2xx, at most {@link MAX_ERROR_BODY_BYTES} otherwise. */
  text: string;
}

export interface UpstreamHttpOptions {
  /** `cliniko`, `esteem`: the `source` label of the upstream metrics. */
  source: string;
  /** Connect, headers and body each within this, and the whole request too. */
  requestTimeoutMs: number;
}

/** Error bodies are read only to recognise documented conditions; more than this is never read. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A 2xx body larger than this is refused as `malformed` rather than held in memory. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Idle keep-alive connections are closed after this. */
const KEEP_ALIVE_MS = 30_000;
/** Wait after a 429 that says nothing about when to come back. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * The one HTTP client of every source: a keep-alive undici agent whose connect, headers and body
 * timeouts are the request timeout, an overall deadline per request, upstream metrics, and bounded
 * body reads. `send` returns any HTTP answer; it throws only when there is none.
 *
 * @example
 * const http = new UpstreamHttp({ source: 'esteem', requestTimeoutMs: 30_000 });
 * const res = await http.send('GET', 'https://api.example.com/v1/clinic/appointments', { headers });
 * if (!isSuccess(res.status)) throw statusError(res, 'GET /v1/clinic/appointments');
 */
export class UpstreamHttp {
  private readonly agent: Agent;

  constructor(private readonly options: UpstreamHttpOptions) {
    this.agent = new Agent({
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: { timeout: options.requestTimeoutMs },
    });
  }

  /**
   * One request. `where` (e.g. `GET /patients?…`, never a credential) prefixes error messages.
   * @throws UpstreamError `timeout` or `network` when no complete answer came, `malformed` for a 2xx
   *   body over {@link MAX_BODY_BYTES}; the caller's own abort is rethrown as is.
   */
  async send(
    method: 'GET' | 'PUT',
    url: string | URL,
    opts: { where: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
  ): Promise<UpstreamResponse> {
    const { where, signal } = opts;
    const deadline = AbortSignal.timeout(this.options.requestTimeoutMs);
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: opts.headers,
        body: opts.body,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const kind = isTimeout(err) ? 'timeout' : 'network';
      metrics.upstreamRequests.inc({ source: this.options.source, status: kind });
      throw new UpstreamError({ kind, message: `${where}: ${(err as Error).message}`, cause: err });
    }
    const { statusCode: status, headers, body } = res;
    metrics.upstreamRequests.inc({ source: this.options.source, status: String(status) });
    if (status === 429) metrics.rateLimited.inc({ source: this.options.source });
    if (!isSuccess(status)) return { status, headers, text: await readLimited(body, MAX_ERROR_BODY_BYTES) };
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          body.destroy();
          throw new UpstreamError({ kind: 'malformed', message: `${where}: response larger than ${MAX_BODY_BYTES} bytes`, status });
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof UpstreamError || signal?.aborted) throw err;
      const kind = isTimeout(err) || deadline.aborted ? 'timeout' : 'network';
      throw new UpstreamError({ kind, message: `${where}: body failed: ${(err as Error).message}`, status, cause: err });
    }
    return { status, headers, text: Buffer.concat(chunks).toString('utf8') };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** How the poller should treat an HTTP status that is not a 2xx. */
export function kindOfStatus(status: number): UpstreamErrorKind {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  if (status === 401 || status === 403) return 'auth';
  return 'client';
}

/**
 * Milliseconds to wait before asking again: `Retry-After` (seconds or an HTTP date), else
 * `X-RateLimit-Reset` (UNIX seconds, Cliniko's 429), else null.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | null {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  if (retryAfter !== null) return retryAfter;
  const raw = headers['x-ratelimit-reset'];
  const reset = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : null;
}

/**
 * The `UpstreamError` for a non-2xx answer: its kind from the status, and for a 429 (and a 503 that
 * says) how long to wait. The message holds the status, never the body: error bodies can echo
 * request data, and the message reaches logs and `GET /v1/sources`.
 */
export function statusError(res: UpstreamResponse, where: string, now: number = Date.now()): UpstreamError {
  const kind = kindOfStatus(res.status);
  const wait = retryAfterMs(res.headers, now);
  if (kind === 'rate_limited') {
    const waitMs = wait ?? DEFAULT_RATE_LIMIT_WAIT_MS;
    return new UpstreamError({ kind, message: `${where}: 429 rate limited for ${waitMs} ms`, status: 429, retryAfterMs: waitMs });
  }
  return new UpstreamError({
    kind,
    message: `${where}: ${res.status}`,
    status: res.status,
    retryAfterMs: res.status === 503 ? (wait ?? undefined) : undefined,
  });
}

/**
 * A 2xx body parsed as JSON (empty → null).
 * @throws UpstreamError `malformed` when it is not JSON.
 */
export function parseJson(res: UpstreamResponse, where: string): unknown {
  if (res.text.trim() === '') return null;
  try {
    return JSON.parse(res.text) as unknown;
  } catch (err) {
    throw new UpstreamError({ kind: 'malformed', message: `${where}: ${res.status} response is not JSON`, status: res.status, cause: err });
  }
}

function isTimeout(err: unknown): boolean {
  return (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    (err as Error).name === 'TimeoutError' ||
    (err as Error).name === 'AbortError'
  );
}

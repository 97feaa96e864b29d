import { Agent, request } from 'undici';
import { parseRetryAfter, readLimited } from '../util/http.js';
import type { AttemptError } from './attempt-errors.js';
import type { UrlPolicy } from './ssrf.js';

export type { AttemptError } from './attempt-errors.js';

/** What one HTTP attempt produced. */
export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: AttemptError | null;
  errorMessage: string | null;
  durationMs: number;
  /** First `RESPONSE_EXCERPT_BYTES` of the body, as UTF-8. */
  responseExcerpt: string | null;
  /** The response headers worth keeping for debugging (`KEPT_HEADERS`). */
  responseHeaders: Record<string, string>;
  /** `Retry-After` of a 429 or 503, in ms from now. */
  retryAfterMs: number | null;
}

/** Sends one signed delivery; the worker's only view of the network. */
export interface DeliverySender {
  post(url: string, body: string, headers: Record<string, string>): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Connections per origin (keep-alive); the worker caps attempts in flight globally. */
  connectionsPerOrigin: number;
  policy: UrlPolicy;
  userAgent: string;
}

/** Response bytes kept per attempt; the rest is never read into memory. */
export const RESPONSE_EXCERPT_BYTES = 4096;
const KEPT_HEADERS = ['content-type', 'content-length', 'retry-after', 'location', 'date', 'server', 'x-request-id'];

/**
 * POSTs signed deliveries with one shared keep-alive undici Agent. Redirects are never followed
 * (a 3xx is a failure). The URL policy runs inside the connection's DNS lookup, so the address
 * checked is the address connected to; IP-literal hosts are checked before connecting.
 */
export class Sender implements DeliverySender {
  private readonly agent: Agent;

  constructor(private readonly options: SenderOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connections: options.connectionsPerOrigin,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs, lookup: options.policy.lookup },
    });
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptOutcome> {
    const started = performance.now();
    const done = (o: Partial<AttemptOutcome> & Pick<AttemptOutcome, 'ok'>): AttemptOutcome => ({
      statusCode: null,
      error: null,
      errorMessage: null,
      responseExcerpt: null,
      responseHeaders: {},
      retryAfterMs: null,
      ...o,
      durationMs: Math.round(performance.now() - started),
    });

    try {
      // Re-checked at every send: the configuration may have changed since the URL was accepted.
      this.options.policy.checkForm(url);
    } catch (err) {
      return done({ ok: false, error: 'unsafe_address', errorMessage: (err as Error).message });
    }

    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        body,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': this.options.userAgent },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await readLimited(res.body, RESPONSE_EXCERPT_BYTES);
      const responseExcerpt = text === '' ? null : text;
      const { statusCode } = res;
      const responseHeaders: Record<string, string> = {};
      for (const name of KEPT_HEADERS) {
        const v = res.headers[name];
        if (v !== undefined) responseHeaders[name] = Array.isArray(v) ? v.join(', ') : v;
      }
      if (statusCode >= 200 && statusCode < 300) return done({ ok: true, statusCode, responseExcerpt, responseHeaders });
      const retryAfterMs = statusCode === 429 || statusCode === 503 ? parseRetryAfter(responseHeaders['retry-after'], Date.now()) : null;
      return done({
        ok: false,
        statusCode,
        error: statusCode >= 300 && statusCode < 400 ? 'redirect' : 'http_status',
        errorMessage: `receiver answered ${statusCode}`,
        responseExcerpt,
        responseHeaders,
        retryAfterMs,
      });
    } catch (err) {
      return done({ ok: false, error: attemptErrorOf(err), errorMessage: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The attempt error of a request that got no answer; the SSRF lookup's own errors carry a `code`. */
function attemptErrorOf(err: unknown): AttemptError {
  const e = err as Error & { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'UNSAFE_ADDRESS') return 'unsafe_address';
  if (code === 'UNRESOLVABLE_HOST') return 'unresolvable_host';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || /Timeout/.test(e.name) || /TIMEOUT/.test(e.code ?? '')) return 'timeout';
  return 'connection';
}

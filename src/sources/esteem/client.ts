import { metrics } from '../../metrics.js';
import { parseRetryAfter, readLimited } from '../../util/http.js';
import { Agent, request, errors as undiciErrors } from 'undici';
import { USER_AGENT } from '../../version.js';
import { UpstreamError, type UpstreamErrorKind } from '../errors.js';
import type { SourceRecord } from '../types.js';
import { parseAppointmentList } from './list.js';
import type { DateRange } from './window.js';

/** Connection settings of an Esteem (Clinic Appointments API) client. */
export interface EsteemClientOptions {
  /** API origin, e.g. `https://api.esteem.example`, no trailing slash; paths start with `/v1/clinic/`. */
  baseUrl: string;
  /** Sent as `X-User-Token`; never logged, never in an error message. */
  userToken: string;
  requestTimeoutMs: number;
}

/** An answer of the API, whatever its status: the parsed JSON body, or the text when not JSON. */
export interface EsteemResponse {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export const APPOINTMENTS_PATH = '/v1/clinic/appointments';

/** Error bodies are small (`{ "errors": … }`); more than this is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Wait after a 429 that says nothing about when to come back. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * A client of the Clinic Appointments API: `X-User-Token` auth, JSON in and out, request timeout,
 * one keep-alive pool. `send` returns any HTTP answer and throws only when there is none (timeout,
 * network) or a 2xx body is not JSON; the list methods turn every non-2xx into an `UpstreamError`
 * (401/403 → `auth`, 429 → `rate_limited` with `Retry-After`, 5xx → `server`, other 4xx → `client`).
 */
export class EsteemClient {
  private readonly agent: Agent;

  constructor(private readonly options: EsteemClientOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: { timeout: options.requestTimeoutMs },
    });
  }

  /** `GET …/in_date_range` for one date range (and optional filters). */
  async inDateRange(range: DateRange & { provider_id?: string; patient_id?: string }, signal?: AbortSignal): Promise<SourceRecord[]> {
    const path = `${APPOINTMENTS_PATH}/in_date_range`;
    const res = await this.ok(await this.send('GET', path, { query: { ...range }, signal }), 'GET', path);
    return parseAppointmentList(res.body, `GET ${path}`);
  }

  /** One page of `GET …/pending_documentation`. */
  async pendingDocumentation(page: number, pageSize: number, signal?: AbortSignal): Promise<SourceRecord[]> {
    const path = `${APPOINTMENTS_PATH}/pending_documentation`;
    const query = { page: String(page), page_size: String(pageSize) };
    const res = await this.ok(await this.send('GET', path, { query, signal }), 'GET', path);
    return parseAppointmentList(res.body, `GET ${path}`);
  }

  /** `PUT …/reschedule_appointments/{id}` with `{ appointment: changes }`; any answer is returned. */
  reschedule(id: string, changes: { scheduled_at?: string; provider_id?: number; reason?: string }, signal?: AbortSignal): Promise<EsteemResponse> {
    return this.send('PUT', `${APPOINTMENTS_PATH}/reschedule_appointments/${encodeURIComponent(id)}`, { body: { appointment: changes }, signal });
  }

  /**
   * One request. Resolves with the answer whatever its status.
   * @throws UpstreamError `timeout` or `network` when no answer came, `malformed` for a 2xx whose
   *   body is not JSON.
   */
  async send(
    method: 'GET' | 'PUT',
    path: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown; signal?: AbortSignal } = {},
  ): Promise<EsteemResponse> {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const where = `${method} ${path}`;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: {
          'x-user-token': this.options.userToken,
          accept: 'application/json',
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const timedOut =
        err instanceof undiciErrors.HeadersTimeoutError ||
        err instanceof undiciErrors.BodyTimeoutError ||
        err instanceof undiciErrors.ConnectTimeoutError ||
        (err as Error).name === 'TimeoutError' ||
        (err as Error).name === 'AbortError';
      throw new UpstreamError(timedOut ? 'timeout' : 'network', `${where}: ${(err as Error).message}`);
    }

    const { statusCode: status, headers, body } = res;
    const success = status >= 200 && status < 300;
    let text: string;
    try {
      text = success ? await body.text() : await readLimited(body, MAX_ERROR_BODY_BYTES);
    } catch (err) {
      throw new UpstreamError(timeout.aborted ? 'timeout' : 'network', `${where}: body failed: ${(err as Error).message}`, status);
    }
    if (text.trim() === '') return { status, body: null, headers };
    try {
      return { status, body: JSON.parse(text) as unknown, headers };
    } catch {
      if (success) throw new UpstreamError('malformed', `${where}: ${status} response is not JSON`, status);
      return { status, body: text, headers };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** The answer when 2xx, else the `UpstreamError` the poller backs off on. */
  private ok(res: EsteemResponse, method: string, path: string): EsteemResponse {
    metrics.upstreamRequests.inc({ source: 'esteem', status: String(res.status) });
    if (res.status === 429) metrics.rateLimited.inc({ source: 'esteem' });
    if (res.status >= 200 && res.status < 300) return res;
    // No body: error bodies can echo request data, and this text reaches logs and GET /v1/sources.
    const detail = `${method} ${path}: ${res.status}`;
    if (res.status === 429) {
      const waitMs = retryAfterMs(res.headers) ?? DEFAULT_RATE_LIMIT_WAIT_MS;
      throw new UpstreamError('rate_limited', detail, 429, waitMs);
    }
    const kind: UpstreamErrorKind = res.status >= 500 ? 'server' : res.status === 401 || res.status === 403 ? 'auth' : 'client';
    throw new UpstreamError(kind, detail, res.status, res.status === 503 ? retryAfterMs(res.headers) : undefined);
  }
}

/** `Retry-After` in ms (seconds or an HTTP date), when present and readable. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  return parseRetryAfter(headers['retry-after']) ?? undefined;
}



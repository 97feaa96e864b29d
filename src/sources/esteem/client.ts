import { systemClock, type Clock } from '../../util/clock.js';
import { USER_AGENT } from '../../version.js';
import type { SourceRecord } from '../types.js';
import { isSuccess, parseJson, statusError, UpstreamHttp, type Headers } from '../upstream-http.js';
import { parseAppointmentList } from './list.js';
import type { DateRange } from './window.js';

/** Connection settings of an Esteem (Clinic Appointments API) client. */
export interface EsteemClientOptions {
  /** API origin, e.g. `https://api.esteem.example`, no trailing slash; paths start with `/v1/clinic/`. */
  baseUrl: string;
  /** Sent as `X-User-Token`; never logged, never in an error message. */
  userToken: string;
  requestTimeoutMs: number;
  /** Clock of `Retry-After` arithmetic (default: the system clock). */
  clock?: Clock;
}

/** An answer of the API, whatever its status: the parsed JSON body, or the text when not JSON. */
export interface EsteemResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

export const APPOINTMENTS_PATH = '/v1/clinic/appointments';

/**
 * A client of the Clinic Appointments API: `X-User-Token` auth, JSON in and out, over the shared
 * {@link UpstreamHttp}. `send` returns any HTTP answer and throws only when there is none (timeout,
 * network) or a 2xx body is not JSON; the list methods turn every non-2xx into an `UpstreamError`
 * (401/403 → `auth`, 429 → `rate_limited` with `Retry-After`, 5xx → `server`, other 4xx → `client`).
 */
export class EsteemClient {
  private readonly http: UpstreamHttp;

  constructor(private readonly options: EsteemClientOptions) {
    this.http = new UpstreamHttp({ source: 'esteem', requestTimeoutMs: options.requestTimeoutMs });
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
  reschedule(
    id: string,
    changes: { scheduled_at?: string; provider_id?: number; reason?: string },
    signal?: AbortSignal,
  ): Promise<EsteemResponse> {
    return this.send('PUT', `${APPOINTMENTS_PATH}/reschedule_appointments/${encodeURIComponent(id)}`, {
      body: { appointment: changes },
      signal,
    });
  }

  /**
   * One request. Resolves with the answer whatever its status: the parsed JSON body, the text of a
   * non-2xx body that is not JSON, or null for an empty one.
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
    const res = await this.http.send(method, url, {
      where,
      headers: {
        'x-user-token': this.options.userToken,
        accept: 'application/json',
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
    if (isSuccess(res.status)) return { status: res.status, body: parseJson(res, where), headers: res.headers };
    let body: unknown = null;
    if (res.text.trim() !== '') {
      try {
        body = JSON.parse(res.text) as unknown;
      } catch {
        body = res.text;
      }
    }
    return { status: res.status, body, headers: res.headers };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** The answer when 2xx, else the `UpstreamError` the poller backs off on. */
  private ok(res: EsteemResponse, method: string, path: string): EsteemResponse {
    if (isSuccess(res.status)) return res;
    throw statusError(
      { status: res.status, headers: res.headers, text: '' },
      `${method} ${path}`,
      (this.options.clock ?? systemClock).now(),
    );
  }
}

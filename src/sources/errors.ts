/** Why an upstream request failed; decides how the poller backs off. */
export type UpstreamErrorKind = 'rate_limited' | 'server' | 'timeout' | 'network' | 'malformed' | 'client' | 'auth';

/** What went wrong with an upstream request; see {@link UpstreamError}. */
export interface UpstreamErrorOptions {
  kind: UpstreamErrorKind;
  /** Method, path and status, e.g. `GET /patients?…: 503`; never a credential or a response body. */
  message: string;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** How long the upstream asked to wait (`Retry-After`, or Cliniko's `X-RateLimit-Reset`). */
  retryAfterMs?: number;
  /** A documented upstream condition recognised in the response, e.g. `not_searchable`. */
  reason?: 'not_searchable';
  /** The underlying error (undici's timeout, a JSON SyntaxError, …). */
  cause?: unknown;
}

/**
 * An upstream API request that did not produce usable data. The poller never advances a cursor past
 * it and backs off by `kind`, at least `retryAfterMs` when set.
 * @example throw new UpstreamError({ kind: 'server', message: 'GET /patients: 503', status: 503 });
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly kind: UpstreamErrorKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly reason?: 'not_searchable';

  constructor(options: UpstreamErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason;
  }
}

/**
 * The upstream refused the configured credentials (401) on the one request made at start.
 * `message` names the variable to fix, e.g. `CLINIKO_API_KEY was rejected by Cliniko (401 Unauthorized): …`;
 * `npm start` prints it and exits 78 (EX_CONFIG).
 */
export class CredentialsRejectedError extends Error {
  override name = 'CredentialsRejectedError';
  constructor(
    /** The source, e.g. `cliniko`. */
    readonly source: string,
    /** The environment variable holding the rejected credential, e.g. `CLINIKO_API_KEY`. */
    readonly variable: string,
    hint: string,
  ) {
    super(`${variable} was rejected by ${source} (401 Unauthorized): ${hint}`);
  }
}

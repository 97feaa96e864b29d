/** Why an upstream request failed; decides how the poller backs off. */
export type UpstreamErrorKind = 'rate_limited' | 'server' | 'timeout' | 'network' | 'malformed' | 'client' | 'auth';

/**
 * An upstream API request that did not produce usable data. The poller never advances a cursor past
 * it. `retryAfterMs` is set when the upstream said how long to wait (429 `X-RateLimit-Reset` or
 * `Retry-After`).
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    /** A documented upstream condition recognised in the response, e.g. `not_searchable`. */
    readonly reason?: 'not_searchable',
  ) {
    super(message);
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

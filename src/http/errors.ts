import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An admin API error, rendered by `app.onError` as `{ "error": { "code", "message" } }`.
 * @example throw new ApiError(404, 'not_found', 'No subscription sub_123');
 */
export class ApiError extends Error {
  override name = 'ApiError';
  /**
   * @param fields per-field messages, rendered as `error.fields` (an upstream API's 422, e.g. Esteem's
   *   `{ "errors": { "scheduled_at": ["…"] } }`).
   */
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string[]>,
  ) {
    super(message);
  }
}

import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An admin API error, rendered by `app.onError` as `{ "error": { "code", "message" } }`.
 * @example throw new ApiError(404, 'not_found', 'No subscription sub_123');
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

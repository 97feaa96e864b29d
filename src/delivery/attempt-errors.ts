/**
 * Why a delivery attempt failed: the one list the sender records, the store keeps and the OpenAPI
 * document (`Attempt.error`) describes. Each code's meaning is in {@link ATTEMPT_ERROR_MEANINGS}.
 */
export const ATTEMPT_ERRORS = ['timeout', 'connection', 'unresolvable_host', 'unsafe_address', 'redirect', 'http_status'] as const;

/** One of {@link ATTEMPT_ERRORS}. */
export type AttemptError = (typeof ATTEMPT_ERRORS)[number];

/** What each attempt error code means, for the document and anyone reading an attempt. */
export const ATTEMPT_ERROR_MEANINGS: Readonly<Record<AttemptError, string>> = {
  timeout: 'no complete answer within BRIDGE_DELIVERY_TIMEOUT',
  connection: 'the connection was refused, reset or failed (TLS included)',
  unresolvable_host: 'the URL’s host name did not resolve (DNS)',
  unsafe_address: 'the URL resolved to an address the SSRF guard refuses',
  redirect: 'the receiver answered 3xx (redirects are never followed)',
  http_status: 'the receiver answered a status other than 2xx or 3xx',
};

import type { Logger } from 'pino';
import { CredentialsRejectedError } from './errors.js';
import type { Source } from './types.js';

/** The start-time check waits at most this long; an upstream that is down must not hold startup. */
const VERIFY_TIMEOUT_MS = 10_000;

/**
 * Runs every source's optional `verify()` at once, before anything else starts.
 * A source whose upstream is unreachable or failing only gets a warning (its poller backs off later).
 * @throws CredentialsRejectedError when a source's credentials are refused (401); every source is
 *   closed first, so nothing is left running.
 */
export async function verifySources(sources: readonly Source[], logger: Logger): Promise<void> {
  const results = await Promise.allSettled(sources.map((s) => s.verify?.(AbortSignal.timeout(VERIFY_TIMEOUT_MS))));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof CredentialsRejectedError);
  if (rejected) {
    await Promise.allSettled(sources.map((s) => s.close()));
    throw rejected.reason as CredentialsRejectedError;
  }
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      const err = r.reason as Error;
      logger.warn({ source: sources[i]!.name, err: err.message }, 'could not check the credentials at start; polling will retry');
    }
  });
}

import type { EsteemConfig } from '../../config/index.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { CredentialsRejectedError, UpstreamError } from '../errors.js';
import type { Source } from '../types.js';
import { createEsteemActions } from './actions.js';
import { EsteemClient } from './client.js';
import { EsteemAppointmentsFeed } from './feed.js';

export { EsteemClient } from './client.js';
export { EsteemAppointmentsFeed, type EsteemCursor, type EsteemFeedOptions } from './feed.js';
export { ESTEEM_EVENT_TYPES } from './events.js';

/**
 * The Esteem (Clinic Appointments API) source: one feed over the rolling appointment window and
 * the pending-documentation list, polled on `ESTEEM_POLL_CRON`, and the reschedule action mounted
 * at `/v1/sources/esteem`. `clock` places the window and times `Retry-After`.
 */
export function createEsteemSource(config: EsteemConfig, clock: Clock = systemClock): Source {
  const client = new EsteemClient({
    baseUrl: config.baseUrl,
    userToken: config.userToken,
    requestTimeoutMs: config.requestTimeoutMs,
    clock,
  });
  return {
    name: 'esteem',
    feeds: [new EsteemAppointmentsFeed(client, { window: config.window, clock })],
    pollCron: config.pollCron,
    actions: createEsteemActions(client),
    // One page of one appointment: a read every valid token may make.
    verify: async (signal) => {
      try {
        await client.pendingDocumentation(1, 1, signal);
      } catch (err) {
        if (err instanceof UpstreamError && err.status === 401) {
          throw new CredentialsRejectedError(
            'Esteem',
            'ESTEEM_USER_TOKEN',
            'set the X-User-Token of the Clinic Appointments API, and check ESTEEM_BASE_URL',
          );
        }
        throw err;
      }
    },
    close: () => client.close(),
  };
}

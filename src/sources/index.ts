import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { ClinikoClient, type ClinikoClientOptions } from './cliniko/client.js';
import { ClinikoFeed } from './cliniko/feed.js';
import { CLINIKO_RESOURCES } from './cliniko/resources.js';
import { createEsteemSource } from './esteem/index.js';
import { CredentialsRejectedError, UpstreamError } from './errors.js';
import type { Source } from './types.js';

/**
 * The sources configuration turns on: Cliniko when `CLINIKO_API_KEY` is set, Esteem when
 * `ESTEEM_USER_TOKEN` is set. The only place that knows every source. Every source reads time from
 * `clock` (the bridge's one clock). With `shared` (a store several processes share) a Cliniko key's
 * request budget is counted over all of them.
 */
export function createSources(config: Config, clock: Clock = systemClock, shared?: ClinikoClientOptions['shared']): Source[] {
  const sources: Source[] = [];
  if (config.cliniko) {
    const c = config.cliniko;
    const client = new ClinikoClient({
      baseUrl: c.baseUrl,
      apiKey: c.apiKey,
      userAgent: c.userAgent,
      rateLimitPerMin: c.rateLimitPerMin,
      headroomPercent: c.headroomPercent,
      requestTimeoutMs: c.requestTimeoutMs,
      clock,
      shared,
    });
    const feeds = CLINIKO_RESOURCES.filter((r) => config.bridge.resources.includes(r.path)).map(
      (r) => new ClinikoFeed(r, client, { perPage: c.perPage, overlapMs: c.overlapMs, tier: c.tiers[r.path] }),
    );
    sources.push({
      name: 'cliniko',
      feeds,
      pollCron: config.bridge.pollCron,
      // One record of the first polled resource: the cheapest request every key may make.
      verify: async (signal) => {
        try {
          await client.getJson(client.url(feeds[0]?.resource ?? 'patients', { per_page: 1 }), signal);
        } catch (err) {
          if (err instanceof UpstreamError && err.status === 401) {
            throw new CredentialsRejectedError(
              'Cliniko',
              'CLINIKO_API_KEY',
              'copy the key again from Cliniko (My Info → Manage API keys); its suffix (e.g. -au2) picks the shard, unless CLINIKO_BASE_URL is set',
            );
          }
          throw err;
        }
      },
      close: () => client.close(),
    });
  }
  if (config.esteem) sources.push(createEsteemSource(config.esteem, clock));
  return sources;
}

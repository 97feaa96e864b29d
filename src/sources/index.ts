import type { Config } from '../config/index.js';
import { ClinikoClient } from './cliniko/client.js';
import { ClinikoFeed } from './cliniko/feed.js';
import { CLINIKO_RESOURCES } from './cliniko/resources.js';
import { createEsteemSource } from './esteem/index.js';
import type { Source } from './types.js';

/**
 * The sources configuration turns on: Cliniko when `CLINIKO_API_KEY` is set, Esteem when
 * `ESTEEM_USER_TOKEN` is set. The only place that knows every source.
 */
export function createSources(config: Config): Source[] {
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
    });
    sources.push({
      name: 'cliniko',
      feeds: CLINIKO_RESOURCES.filter((r) => config.bridge.resources.includes(r.path)).map(
        (r) => new ClinikoFeed(r, client, { perPage: c.perPage, overlapMs: c.overlapMs, tier: c.tiers[r.path] }),
      ),
      pollCron: config.bridge.pollCron,
      close: () => client.close(),
    });
  }
  if (config.esteem) sources.push(createEsteemSource(config.esteem));
  return sources;
}

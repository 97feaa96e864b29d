import { ClinikoClient } from '../../src/sources/cliniko/client.js';
import { ClinikoFeed } from '../../src/sources/cliniko/feed.js';
import { CLINIKO_RESOURCES, type ClinikoResource } from '../../src/sources/cliniko/resources.js';
import type { Clock } from '../../src/util/clock.js';
import { DEFAULT_API_KEY } from './index.js';

/**
 * The bridge's Cliniko client and feeds pointed at a simulator, as benchmarks and poller tests wire
 * them without a whole bridge: the simulator's key, pages of 100, a 120 s overlap.
 * @param rateLimitPerMin the key's request budget (Cliniko's is 200 a minute)
 * @param requestTimeoutMs per request, default 30 s
 * @param resources the feeds to build, default every Cliniko resource
 */
export function simulatorFeeds(options: {
  baseUrl: string;
  userAgent: string;
  rateLimitPerMin: number;
  requestTimeoutMs?: number;
  clock?: Clock;
  resources?: readonly ClinikoResource[];
  perPage?: number;
}): { client: ClinikoClient; feeds: ClinikoFeed[] } {
  const client = new ClinikoClient({
    baseUrl: options.baseUrl,
    apiKey: DEFAULT_API_KEY,
    userAgent: options.userAgent,
    rateLimitPerMin: options.rateLimitPerMin,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const feeds = (options.resources ?? CLINIKO_RESOURCES).map(
    (r) => new ClinikoFeed(r, client, { perPage: options.perPage ?? 100, overlapMs: 120_000 }),
  );
  return { client, feeds };
}

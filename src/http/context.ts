import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { DeliveryWorker } from '../delivery/worker.js';
import type { UrlPolicy } from '../delivery/ssrf.js';
import type { PollerGroup } from '../poller/group.js';
import type { Store } from '../store/store.js';

/** What the admin API needs from the rest of the bridge; built once in `main.ts`. */
export interface AdminDeps {
  store: Store;
  dispatcher: Dispatcher;
  worker: DeliveryWorker;
  poller: PollerGroup;
  /** Admin actions of sources, mounted at `/v1/sources/<name>` (e.g. Esteem's reschedule). */
  sourceActions?: Array<{ name: string; app: OpenAPIHono }>;
  logger: Logger;
  adminToken: string;
  /** Admin API requests per minute per token or API key (`BRIDGE_ADMIN_RATE_LIMIT_PER_MIN`). */
  rateLimitPerMin: number;
  /** The SSRF guard subscriber URLs must pass. */
  policy: UrlPolicy;
  version: string;
}

import type { Logger } from 'pino';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { DeliveryWorker } from '../delivery/worker.js';
import type { UrlPolicy } from '../delivery/ssrf.js';
import type { Poller } from '../poller/poller.js';
import type { Store } from '../store/store.js';

/** What the admin API needs from the rest of the bridge; built once in `main.ts`. */
export interface AdminDeps {
  store: Store;
  dispatcher: Dispatcher;
  worker: DeliveryWorker;
  poller: Poller;
  logger: Logger;
  adminToken: string;
  /** The SSRF guard subscriber URLs must pass. */
  policy: UrlPolicy;
  version: string;
}

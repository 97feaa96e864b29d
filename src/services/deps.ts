import type { Logger } from 'pino';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { UrlPolicy } from '../delivery/ssrf.js';
import type { DeliveryWorker } from '../delivery/worker.js';
import type { Store } from '../store/store.js';

/** What the services need from the rest of the bridge (a subset of the admin API's deps). */
export interface ServiceDeps {
  store: Store;
  dispatcher: Dispatcher;
  worker: DeliveryWorker;
  /** The SSRF guard subscriber URLs must pass. */
  policy: UrlPolicy;
  logger: Logger;
}

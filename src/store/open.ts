import type { Config } from '../config/index.js';
import { codecFor } from './encryption.js';
import { LowdbStore } from './lowdb-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import type { Store } from './store.js';

/**
 * Opens the store the configuration names: PostgreSQL when `BRIDGE_DATABASE_URL` is set, otherwise
 * the embedded lowdb store in `BRIDGE_DATA_DIR`. `BRIDGE_ENCRYPTION_KEY` applies to either.
 * @throws StoreCorruptError or StoreKeyError when the data cannot be read with this configuration; the
 *   database error when PostgreSQL cannot be reached or migrated.
 */
export async function openStore(bridge: Config['bridge']): Promise<Store> {
  const codec = codecFor(bridge.encryptionKey);
  if (bridge.database)
    return PostgresStore.open({ url: bridge.database.url, schema: bridge.database.schema, codec, instanceId: bridge.instanceId });
  const store = new LowdbStore(bridge.dataDir, { checkpointIntervalMs: bridge.checkpointIntervalMs, codec });
  await store.load();
  return store;
}

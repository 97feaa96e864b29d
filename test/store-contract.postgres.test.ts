import { afterAll, describe } from 'vitest';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { Store } from '../src/store/store.js';
import { postgresOrSkip, sql } from './helpers/postgres.js';
import { storeContract } from './helpers/store-contract.js';

// The same contract as the lowdb store, on a throwaway PostgreSQL 15 cluster: each test its own schema.
const pg = await postgresOrSkip('test/store-contract.postgres.test.ts');
afterAll(async () => {
  await pg?.stop();
});

const schemas = new Map<Store, string>();
const schemasMade: string[] = [];
const openIn = async (schema: string) => {
  const store = await PostgresStore.open({ url: pg!.url, schema });
  schemas.set(store, schema);
  return store;
};

describe.skipIf(!pg)('PostgreSQL store', () => {
  storeContract('postgres', {
    async open() {
      const schema = pg!.freshSchema();
      schemasMade.push(schema);
      return openIn(schema);
    },
    async reopen(store: Store) {
      await store.close();
      return openIn(schemas.get(store)!);
    },
    async cleanup() {
      for (const schema of schemasMade.splice(0)) await sql(pg!.url, `DROP SCHEMA "${schema}" CASCADE`);
    },
  });
});

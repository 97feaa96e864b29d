import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { ConfigError } from '../src/config/errors.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';

const BASE = { CLINIKO_API_KEY: 'k', CLINIKO_USER_AGENT: 'Tests (t@example.com)', BRIDGE_ADMIN_TOKEN: 'x'.repeat(20) };

describe('PostgreSQL configuration', () => {
  it('uses the embedded store unless BRIDGE_DATABASE_URL is set; the schema defaults to public', () => {
    expect(loadConfig(BASE).bridge.database).toBeNull();
    expect(loadConfig({ ...BASE, BRIDGE_DATABASE_URL: 'postgres://u:p@db:5432/bridge' }).bridge.database).toEqual({
      url: 'postgres://u:p@db:5432/bridge',
      schema: 'public',
    });
    expect(
      loadConfig({ ...BASE, BRIDGE_DATABASE_URL: 'postgresql://db/b', BRIDGE_DATABASE_SCHEMA: 'bridge_2' }).bridge.database?.schema,
    ).toBe('bridge_2');
  });

  it('names the variable of a bad URL or schema', () => {
    const problems = (() => {
      try {
        loadConfig({ ...BASE, BRIDGE_DATABASE_URL: 'mysql://db/b', BRIDGE_DATABASE_SCHEMA: 'Bridge; drop' });
      } catch (err) {
        return (err as ConfigError).message;
      }
      return '';
    })();
    expect(problems).toMatch(/BRIDGE_DATABASE_URL must be a PostgreSQL URL/);
    expect(problems).toMatch(/BRIDGE_DATABASE_SCHEMA must be a lower-case schema name/);
  });

  it('names each process: BRIDGE_INSTANCE_ID, or host:pid', () => {
    expect(loadConfig({ ...BASE, BRIDGE_INSTANCE_ID: 'bridge-a' }).bridge.instanceId).toBe('bridge-a');
    expect(loadConfig(BASE).bridge.instanceId).toMatch(new RegExp(`:${process.pid}$`));
  });

  it('says which variable to fix when the database cannot be reached, without its password', async () => {
    const err = (await PostgresStore.open({ url: 'postgres://bridge:s3cret-pw@127.0.0.1:1/bridge' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^BRIDGE_DATABASE_URL: cannot reach postgres:\/\/bridge@127\.0\.0\.1:1\/bridge/);
    expect(err.message).not.toContain('s3cret-pw');
  });
});

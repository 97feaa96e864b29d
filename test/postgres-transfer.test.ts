import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { aesGcmCodec } from '../src/store/encryption.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { postgresOrSkip } from './helpers/postgres.js';
import { delivery, event } from './helpers/store-contract.js';

// `npm run store -- import|export`, run as a process: lowdb → PostgreSQL → lowdb gives back the same store.
const pg = await postgresOrSkip('test/postgres-transfer.test.ts');
const dirs: string[] = [];
afterAll(async () => {
  await pg?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const run = promisify(execFile);
async function storeCli(command: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/store/cli.ts', command], { env: { ...process.env, ...env } });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe.skipIf(!pg)('npm run store -- import / export', () => {
  it('moves an encrypted lowdb store into PostgreSQL and back unchanged, checked by counts; refuses a non-empty target', async () => {
    const key = randomBytes(32);
    const original = await mkdtemp(join(tmpdir(), 'bridge-transfer-'));
    const back = await mkdtemp(join(tmpdir(), 'bridge-transfer-back-'));
    dirs.push(original, back);
    const store = new LowdbStore(original, { codec: aesGcmCodec(key) });
    await store.load();
    await store.transaction((tx) => {
      tx.putSubscription(
        withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x', created_at: '2026-11-23T06:00:00.000Z' }),
      );
      tx.putApiKey({
        id: 'key_1',
        name: 'zapier',
        scopes: ['events:read'],
        subscriptions: 'own',
        hash: 'ab'.repeat(32),
        prefix: 'ceb_ab',
        created_at: '2026-11-23T06:00:00.000Z',
        last_used_at: null,
      });
      tx.putResource('cliniko:patients', {
        cursor: { updated_at: '2026-11-23T06:00:00Z', baseline_done: true },
        last_poll_at: null,
        last_success_at: '2026-11-23T06:00:00.000Z',
        last_error: null,
      });
      for (let i = 0; i < 1200; i++)
        tx.putSnapshot('cliniko:patients', String(i), { version: 'v', record: { id: String(i), first_name: `P${i}` } });
      tx.putSnapshot('cliniko:patients', 'gone', { version: 'v', record: { id: 'gone', deleted_at: '2026-11-23T06:00:00Z' } });
      tx.appendEvents(Array.from({ length: 700 }, (_, i) => ({ ...event(`evt_${String(i).padStart(4, '0')}`), dispatched: i < 690 })));
      tx.putDelivery(
        delivery('dlv_1', 'evt_0001', 'sub_1', {
          status: 'succeeded',
          attempt_count: 1,
          attempts: [
            {
              id: 'att_1',
              attempted_at: '2026-11-23T06:00:01.000Z',
              duration_ms: 5,
              status_code: 200,
              error: null,
              response_excerpt: 'ok',
              response_headers: { 'content-type': 'text/plain' },
              trigger: 'schedule',
            },
          ],
        }),
      );
      tx.putDelivery(delivery('dlv_2', 'evt_0002', 'sub_1', { next_attempt_at: '2026-11-23T06:05:00.000Z' }));
      tx.appendAudit({
        id: 'aud_1',
        at: '2026-11-23T06:00:00.000Z',
        action: 'subscription.created',
        actor: 'admin',
        request_id: null,
        target: 'sub_1',
        details: {},
      });
    });
    const before = await store.dump();
    await store.close();

    const schema = pg!.freshSchema();
    const env = { BRIDGE_DATABASE_URL: pg!.url, BRIDGE_DATABASE_SCHEMA: schema, BRIDGE_ENCRYPTION_KEY: key.toString('base64') };
    const imported = await storeCli('import', { ...env, BRIDGE_DATA_DIR: original });
    expect(imported.out).toContain('✓ counts match');
    expect(imported.out).toContain('snapshots cliniko:patients: 1201');
    expect(imported.code).toBe(0);

    const exported = await storeCli('export', { ...env, BRIDGE_DATA_DIR: back });
    expect(exported.out).toContain('✓ counts match');
    expect(exported.code).toBe(0);
    const copy = new LowdbStore(back, { codec: aesGcmCodec(key), readOnly: true });
    await copy.load();
    expect(await copy.dump()).toEqual(before);

    // A second import would mix two stores: refused, nothing written.
    const again = await storeCli('import', { ...env, BRIDGE_DATA_DIR: original });
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/is not empty/);
    expect((await storeCli('import', { BRIDGE_DATA_DIR: original })).out).toMatch(/set BRIDGE_DATABASE_URL/);
  }, 60_000);
});

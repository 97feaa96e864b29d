import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreKeyError } from '../src/store/encryption.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { Harness, waitFor } from './helpers/harness.js';

/** Every file under the data directory, as text. */
async function filesOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(dir)) out.set(name, await readFile(join(dir, name), 'utf8'));
  return out;
}

/**
 * The patient-identifying values the simulator generated: names, emails, phone numbers. Names shorter
 * than 6 letters are left out: a 4-letter name turns up by chance in a megabyte of base64 ciphertext
 * about once in 16 runs, which would make this test fail for no reason. (Emails hold `@`, never in
 * base64; phone numbers are 8+ digits.)
 */
function identifying(h: Harness): string[] {
  const values = new Set<string>();
  for (const resource of ['patients', 'contacts'] as const) {
    for (const r of h.sim.all(resource)) {
      for (const field of ['first_name', 'last_name', 'email'])
        if (typeof r[field] === 'string' && (r[field] as string).length >= 6) values.add(r[field] as string);
      for (const p of (r.phone_numbers as Array<{ number: string }> | undefined) ?? []) values.add(p.number);
    }
  }
  return [...values];
}

async function runWithChanges(env: Record<string, string>): Promise<{ h: Harness; files: Map<string, string> }> {
  const h = await Harness.create({ seed: { patients: 5, contacts: 5 }, env: { BRIDGE_RESOURCES: 'patients,contacts', ...env } });
  await h.subscribe();
  await h.poll();
  for (const p of h.sim.all('patients')) h.sim.update('patients', p.id, { notes: 'seen today' });
  h.sim.create('contacts', { first_name: 'Ottoline', last_name: 'Featherstonehaugh', email: 'ottoline@example.org' });
  await h.poll();
  await waitFor(() => h.receiver.received.length >= 6);
  await h.bridge.stop(); // flushes and checkpoints: parts, manifest and journal all on disk
  return { h, files: await filesOf(h.dataDir) };
}

describe('encryption at rest', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
  });

  it('writes no patient name, email or phone number to any file when BRIDGE_ENCRYPTION_KEY is set', async () => {
    // Control: without a key the same run leaves them on disk, so this test can fail.
    const plain = await runWithChanges({});
    harnesses.push(plain.h);
    const plainText = [...plain.files.values()].join('\n');
    expect(identifying(plain.h).some((v) => plainText.includes(v))).toBe(true);

    const key = randomBytes(32).toString('base64');
    const enc = await runWithChanges({ BRIDGE_ENCRYPTION_KEY: key });
    harnesses.push(enc.h);
    const values = identifying(enc.h);
    expect(values).toContain('Featherstonehaugh');
    for (const [name, text] of enc.files) {
      for (const v of values) expect(text.includes(v), `${v} in ${name}`).toBe(false);
    }
    expect([...enc.files.keys()].some((n) => n.startsWith('snap.'))).toBe(true);
    // And the bridge reads its own files back.
    await enc.h.startBridge();
    expect(Object.keys((await (enc.h.bridge.store as LowdbStore).dump()).subscriptions)).toHaveLength(1);
  });

  it('refuses to start with a wrong key or none, and leaves every file as it was', async () => {
    const key = randomBytes(32).toString('base64');
    const { h, files } = await runWithChanges({ BRIDGE_ENCRYPTION_KEY: key });
    harnesses.push(h);
    for (const codecKey of [randomBytes(32).toString('base64'), '']) {
      h.env.BRIDGE_ENCRYPTION_KEY = codecKey;
      const err = await h.startBridge().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreKeyError);
      expect((err as Error).message).toMatch(codecKey ? /does not decrypt/ : /is encrypted: set BRIDGE_ENCRYPTION_KEY/);
      expect(await filesOf(h.dataDir)).toEqual(files);
    }
    h.bridge = undefined as never;
  });

  it('npm run store -- encrypt, rekey and decrypt migrate an existing store', async () => {
    const { h } = await runWithChanges({});
    harnesses.push(h);
    const before = await (async () => {
      const s = new LowdbStore(h.dataDir, { readOnly: true });
      await s.load();
      return (await s.dump()).events.map((e) => e.payload.id);
    })();
    const run = (command: string, env: Record<string, string>) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/store/cli.ts', command],
          { env: { ...process.env, BRIDGE_DATA_DIR: h.dataDir, ...env } },
          (err, out) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out }),
        ),
      );
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    expect(await run('encrypt', { BRIDGE_ENCRYPTION_KEY: k1 })).toMatchObject({ code: 0 });
    const identifyingValues = identifying(h);
    for (const text of (await filesOf(h.dataDir)).values()) for (const v of identifyingValues) expect(text.includes(v)).toBe(false);
    expect((await run('check', {})).code).toBe(1);
    expect(await run('rekey', { BRIDGE_ENCRYPTION_KEY: k1, BRIDGE_NEW_ENCRYPTION_KEY: k2 })).toMatchObject({ code: 0 });
    expect((await run('check', { BRIDGE_ENCRYPTION_KEY: k1 })).code).toBe(1);
    expect(await run('decrypt', { BRIDGE_ENCRYPTION_KEY: k2 })).toMatchObject({ code: 0 });
    const after = new LowdbStore(h.dataDir, { readOnly: true });
    await after.load();
    expect((await after.dump()).events.map((e) => e.payload.id)).toEqual(before);
  }, 60_000);
});

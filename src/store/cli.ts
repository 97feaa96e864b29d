import { copyFile, readdir, rename, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { codecFor } from './encryption.js';
import { LowdbStore } from './lowdb-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { copyStore } from './postgres/transfer.js';
import type { Store } from './store.js';

/**
 * `npm run store -- check|restore`: inspect or repair the store in `BRIDGE_DATA_DIR` (default from
 * config/default.json). Run it while the bridge is stopped.
 * - `check` loads everything read-only and reports what is there; exit 1 when something is unreadable.
 * - `restore` sets the damaged `manifest.json` aside and puts `manifest.json.bak` (the previous
 *   checkpoint) back; the journals written since are replayed on the next start, so nothing committed
 *   is lost unless a journal itself is damaged. Then it checks again.
 * - `encrypt` (plain → `BRIDGE_ENCRYPTION_KEY`), `decrypt` (`BRIDGE_ENCRYPTION_KEY` → plain) and
 *   `rekey` (`BRIDGE_ENCRYPTION_KEY` → `BRIDGE_NEW_ENCRYPTION_KEY`) rewrite every file.
 * - `import` copies the store in `BRIDGE_DATA_DIR` into the empty PostgreSQL schema of
 *   `BRIDGE_DATABASE_URL` (and `BRIDGE_DATABASE_SCHEMA`); `export` copies that schema into an empty
 *   `BRIDGE_DATA_DIR`. Both compare the two stores' counts afterwards; exit 1 when they differ.
 *   `BRIDGE_ENCRYPTION_KEY` applies to both sides.
 * Keys are 32 bytes in base64, as in the bridge's configuration.
 */
async function main(): Promise<number> {
  const command = process.argv[2];
  const defaults = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8')) as {
    bridge: { dataDir: string };
  };
  const dir = resolve(process.env.BRIDGE_DATA_DIR || defaults.bridge.dataDir);
  const key = parseKey('BRIDGE_ENCRYPTION_KEY');
  if (command === 'check') return check(dir, key);
  if (command === 'restore') return restore(dir, key);
  if (command === 'encrypt') return migrate(dir, null, key, 'encrypted with BRIDGE_ENCRYPTION_KEY');
  if (command === 'decrypt') return migrate(dir, key, null, 'decrypted: the files are plain JSON again');
  if (command === 'rekey') return migrate(dir, key, parseKey('BRIDGE_NEW_ENCRYPTION_KEY'), 're-encrypted with BRIDGE_NEW_ENCRYPTION_KEY');
  if (command === 'import' || command === 'export') return transfer(command, dir, key);
  process.stderr.write(
    'usage: npm run store -- check|restore|encrypt|decrypt|rekey|import|export   (uses BRIDGE_DATA_DIR, default ./data; import/export also BRIDGE_DATABASE_URL)\n',
  );
  return 2;
}

/** A 32-byte base64 key from the environment, or null when unset. Exits 2 on a malformed key. */
function parseKey(name: string): Buffer | null {
  const text = process.env[name]?.trim();
  if (!text) return null;
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) {
    process.stderr.write(`${name} must be 32 bytes written as base64 (generate one with \`openssl rand -base64 32\`)\n`);
    process.exit(2);
  }
  return key;
}

async function migrate(dir: string, from: Buffer | null, to: Buffer | null, done: string): Promise<number> {
  if (!from && !to) {
    process.stdout.write('✗ set BRIDGE_ENCRYPTION_KEY (and BRIDGE_NEW_ENCRYPTION_KEY for rekey)\n');
    return 2;
  }
  const store = new LowdbStore(dir, { codec: codecFor(from) });
  try {
    await store.load();
  } catch (err) {
    process.stdout.write(`✗ ${(err as Error).message}\n`);
    return 1;
  }
  await store.reencode(codecFor(to));
  await store.close();
  process.stdout.write(`✓ store in ${dir} ${done}\n`);
  return check(dir, to);
}

async function check(dir: string, key: Buffer | null): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`store in ${dir}${key ? ' (encrypted)' : ''}`);
  // Loading a missing or empty directory would "succeed" with an empty store: a wrong path must not.
  const present = await readdir(dir).catch(() => null);
  if (present === null || present.length === 0) {
    out(
      `✗ ${present === null ? 'the directory does not exist' : 'the directory is empty'}: no store here. Set BRIDGE_DATA_DIR to the bridge's data directory`,
    );
    return 1;
  }
  const store = new LowdbStore(dir, { readOnly: true, codec: codecFor(key) });
  try {
    await store.load();
  } catch (err) {
    out(`✗ ${(err as Error).message}`);
    return 1;
  }
  const files = await readdir(dir).catch(() => [] as string[]);
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(dir, f))).size;
  const counts = await store.counts();
  const d = counts.deliveries;
  out(`✓ loads cleanly: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  out(`  subscriptions  ${counts.subscriptions}`);
  out(`  events         ${counts.events}`);
  out(`  deliveries     ${d.pending + d.succeeded + d.failed} (pending ${d.pending}, succeeded ${d.succeeded}, failed ${d.failed})`);
  for (const [key, n] of Object.entries(counts.snapshots)) out(`  snapshots      ${key}: ${n}`);
  if (store.stats.tornTailDropped)
    out('  note: the journal ends with a torn line (a write cut off by a crash); it was never acknowledged and is dropped at start');
  if (files.includes('manifest.json.bak')) out('  backup: manifest.json.bak (the previous checkpoint)');
  return 0;
}

/** `import`: lowdb directory → PostgreSQL; `export`: PostgreSQL → lowdb directory. Both must be unused by a bridge. */
async function transfer(command: 'import' | 'export', dir: string, key: Buffer | null): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const url = process.env.BRIDGE_DATABASE_URL?.trim();
  if (!url) {
    out('✗ set BRIDGE_DATABASE_URL (postgres://user:password@host:port/database), and BRIDGE_DATABASE_SCHEMA if not public');
    return 2;
  }
  const codec = codecFor(key);
  const stores: Store[] = [];
  try {
    const lowdb = new LowdbStore(dir, { codec });
    await lowdb.load();
    stores.push(lowdb);
    const pg = await PostgresStore.open({ url, schema: process.env.BRIDGE_DATABASE_SCHEMA?.trim() || 'public', codec });
    stores.push(pg);
    const [from, to] = command === 'import' ? [lowdb, pg] : [pg, lowdb];
    out(`${command}: ${from.location} → ${to.location}`);
    const result = await copyStore(from, to);
    const d = result.to.deliveries;
    out(`  subscriptions ${result.to.subscriptions}, api keys ${result.to.api_keys}, events ${result.to.events}, audit ${result.to.audit}`);
    out(`  deliveries ${d.pending + d.succeeded + d.failed} (pending ${d.pending}, succeeded ${d.succeeded}, failed ${d.failed})`);
    for (const [resource, n] of Object.entries(result.to.snapshots)) out(`  snapshots ${resource}: ${n}`);
    if (!result.equal) {
      out(`✗ the counts differ: source ${JSON.stringify(result.from)}, copy ${JSON.stringify(result.to)}`);
      return 1;
    }
    out('✓ counts match');
    return 0;
  } catch (err) {
    out(`✗ ${(err as Error).message}`);
    return 1;
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
  }
}

async function restore(dir: string, key: Buffer | null): Promise<number> {
  const manifest = join(dir, 'manifest.json');
  const backup = `${manifest}.bak`;
  try {
    await stat(backup);
  } catch {
    process.stdout.write(`✗ no backup at ${backup}: nothing to restore\n`);
    return 1;
  }
  const aside = `${manifest}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(manifest, aside).catch(() => undefined);
  await copyFile(backup, manifest);
  process.stdout.write(`restored ${backup} → ${manifest} (the damaged one is kept as ${aside})\n`);
  return check(dir, key);
}

process.exitCode = await main();

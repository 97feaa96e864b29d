import { copyFile, readdir, rename, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Store } from './store.js';

/**
 * `npm run store -- check|restore`: inspect or repair the store in `BRIDGE_DATA_DIR` (default from
 * config/default.json). Run it while the bridge is stopped.
 * - `check` loads everything read-only and reports what is there; exit 1 when something is unreadable.
 * - `restore` sets the damaged `manifest.json` aside and puts `manifest.json.bak` (the previous
 *   checkpoint) back; the journals written since are replayed on the next start, so nothing committed
 *   is lost unless a journal itself is damaged. Then it checks again.
 */
async function main(): Promise<number> {
  const command = process.argv[2];
  const defaults = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8')) as { bridge: { dataDir: string } };
  const dir = resolve(process.env.BRIDGE_DATA_DIR || defaults.bridge.dataDir);
  if (command === 'check') return check(dir);
  if (command === 'restore') return restore(dir);
  process.stderr.write('usage: npm run store -- check|restore   (uses BRIDGE_DATA_DIR, default ./data)\n');
  return 2;
}

async function check(dir: string): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`store in ${dir}`);
  const store = new Store(dir, { readOnly: true });
  try {
    await store.load();
  } catch (err) {
    out(`✗ ${(err as Error).message}`);
    return 1;
  }
  const files = await readdir(dir).catch(() => [] as string[]);
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(dir, f))).size;
  const deliveries = Object.values(store.data.deliveries);
  const count = (s: string) => deliveries.filter((d) => d.status === s).length;
  out(`✓ loads cleanly: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  out(`  subscriptions  ${Object.keys(store.data.subscriptions).length}`);
  out(`  events         ${store.data.events.length}`);
  out(`  deliveries     ${deliveries.length} (pending ${count('pending')}, succeeded ${count('succeeded')}, failed ${count('failed')})`);
  for (const [key, snaps] of Object.entries(store.data.snapshots)) out(`  snapshots      ${key}: ${Object.keys(snaps).length}`);
  if (store.stats.tornTailDropped) out('  note: the journal ends with a torn line (a write cut off by a crash); it was never acknowledged and is dropped at start');
  if (files.includes('manifest.json.bak')) out('  backup: manifest.json.bak (the previous checkpoint)');
  return 0;
}

async function restore(dir: string): Promise<number> {
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
  return check(dir);
}

process.exitCode = await main();

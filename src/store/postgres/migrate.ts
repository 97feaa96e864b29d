import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

/** The schema's migrations: plain SQL files applied in name order, each once. */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** A schema name the bridge accepts for `BRIDGE_DATABASE_SCHEMA`: it is quoted into SQL, so only these. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Brings `schema` up to date: creates it if needed, then applies every file of `migrations/` not yet
 * listed in its `schema_migrations` table, in name order, recording each. Everything runs in one
 * transaction under an advisory lock, so processes starting together apply each file once and a
 * failed migration leaves nothing behind.
 * @returns the names of the files applied now.
 * @throws the database error of the failing statement (naming the file), or when a migration recorded
 *   in the database is unknown to this version (the database is newer than the code).
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<string[]> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`schema name ${JSON.stringify(schema)} must match ${SCHEMA_NAME}`);
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`clinic-event-bridge:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const applied = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const unknown = [...applied].filter((name) => !files.includes(name));
    if (unknown.length > 0) {
      throw new Error(
        `schema "${schema}" has migrations this version does not know (${unknown.join(', ')}): run the newer bridge version, or use another BRIDGE_DATABASE_SCHEMA`,
      );
    }
    const done: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      const text = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
      try {
        await client.query(text);
      } catch (err) {
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      done.push(file);
    }
    await client.query('COMMIT');
    return done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

import type { Codec } from '../codec.js';
import { deepFreeze } from '../page.js';
import type { ApiKey, AuditEntry, Delivery, ResourceState, Snapshot, StoredEvent, Subscription } from '../schema.js';
import { withSubscriptionDefaults } from '../schema.js';

/**
 * How one kind of entity is written: its table, columns with their PostgreSQL types (for `unnest`
 * batch inserts), the key that identifies a row, and what a second write of the same key does.
 */
export interface Table<T> {
  name: string;
  columns: readonly string[];
  types: readonly string[];
  key: readonly string[];
  /** `update`: the new value replaces the row; `nothing`: the first value stays; `error`: a duplicate fails. */
  onConflict: 'update' | 'nothing' | 'error';
  /** More assignments of the `update` (columns no value carries). */
  alsoUpdate?: string;
  row(value: T, codec: Codec): unknown[];
}

const encode = (codec: Codec, value: unknown) => codec.encode(JSON.stringify(value));

/** Decodes a `doc` column into a frozen value. @throws StoreKeyError when the key does not open it. */
export function decodeDoc<T>(codec: Codec, text: string): T {
  return deepFreeze(JSON.parse(codec.decode(text)) as T);
}

export const subscriptions: Table<Subscription> = {
  name: 'subscriptions',
  columns: ['id', 'created_at', 'doc'],
  types: ['text', 'text', 'text'],
  key: ['id'],
  onConflict: 'update',
  row: (s, codec) => [s.id, s.created_at, encode(codec, s)],
};

export const apiKeys: Table<ApiKey> = {
  name: 'api_keys',
  columns: ['id', 'hash', 'created_at', 'doc'],
  types: ['text', 'text', 'text', 'text'],
  key: ['id'],
  onConflict: 'update',
  row: (k, codec) => [k.id, k.hash, k.created_at, encode(codec, k)],
};

export const resources: Table<{ key: string; state: ResourceState }> = {
  name: 'resources',
  columns: ['key', 'doc'],
  types: ['text', 'text'],
  key: ['key'],
  onConflict: 'update',
  row: ({ key, state }, codec) => [key, encode(codec, state)],
};

export const snapshots: Table<{ resource: string; id: string; snapshot: Snapshot }> = {
  name: 'snapshots',
  columns: ['resource', 'id', 'version', 'live', 'doc'],
  types: ['text', 'text', 'text', 'boolean', 'text'],
  key: ['resource', 'id'],
  onConflict: 'update',
  row: ({ resource, id, snapshot }, codec) => [resource, id, snapshot.version, !snapshot.record.deleted_at, encode(codec, snapshot)],
};

/** `doc` holds the payload; `dispatched` is its own column, so marking events dispatched rewrites no payload. */
export const events: Table<StoredEvent> = {
  name: 'events',
  columns: ['id', 'type', 'resource', 'record_id', 'detected_at', 'dispatched', 'doc'],
  types: ['text', 'text', 'text', 'text', 'text', 'boolean', 'text'],
  key: ['id'],
  onConflict: 'error',
  row: (e, codec) => [
    e.payload.id,
    e.payload.type,
    e.payload.data.resource,
    String(e.payload.data.id),
    e.payload.timestamp,
    e.dispatched,
    encode(codec, e.payload),
  ],
};

export const deliveries: Table<Delivery> = {
  name: 'deliveries',
  columns: ['id', 'event_id', 'subscription_id', 'status', 'next_attempt_at', 'created_at', 'attempt_count', 'doc'],
  types: ['text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text'],
  key: ['id'],
  onConflict: 'update',
  // Recording an attempt (or finishing the delivery) ends its claim; other writes leave a claim alone.
  alsoUpdate: `claimed_by = CASE WHEN excluded.attempt_count <> deliveries.attempt_count OR excluded.status <> 'pending' THEN NULL ELSE deliveries.claimed_by END,
    claimed_until = CASE WHEN excluded.attempt_count <> deliveries.attempt_count OR excluded.status <> 'pending' THEN NULL ELSE deliveries.claimed_until END`,
  row: (d, codec) => [d.id, d.event_id, d.subscription_id, d.status, d.next_attempt_at, d.created_at, d.attempt_count, encode(codec, d)],
};

export const audit: Table<AuditEntry> = {
  name: 'audit',
  columns: ['id', 'at', 'actor', 'doc'],
  types: ['text', 'text', 'text', 'text'],
  key: ['id'],
  onConflict: 'nothing',
  row: (a, codec) => [a.id, a.at, a.actor, encode(codec, a)],
};

/**
 * One statement writing many rows of a table: `INSERT … SELECT * FROM unnest($1::text[], …)`. Rows
 * with the same key keep the last (one statement may not touch a row twice).
 */
export function batchInsert(table: Table<never>, rows: unknown[][]): { text: string; values: unknown[] } {
  const keyIdx = table.key.map((k) => table.columns.indexOf(k));
  const last = new Map<string, unknown[]>();
  const list = table.onConflict === 'error' ? rows : null;
  if (!list) for (const r of rows) last.set(JSON.stringify(keyIdx.map((i) => r[i])), r);
  const unique = list ?? [...last.values()];
  const values = table.columns.map((_, i) => unique.map((r) => r[i]));
  const cols = table.columns.join(', ');
  const params = table.types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  const update = table.columns.filter((c) => !table.key.includes(c)).map((c) => `${c} = excluded.${c}`);
  if (table.alsoUpdate) update.push(table.alsoUpdate);
  const conflict =
    table.onConflict === 'update'
      ? ` ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${update.join(', ')}`
      : table.onConflict === 'nothing'
        ? ' ON CONFLICT DO NOTHING'
        : '';
  return { text: `INSERT INTO ${table.name} (${cols}) SELECT * FROM unnest(${params})${conflict}`, values };
}

/** A subscription row's value, with defaults for fields added after it was written. */
export function subscriptionFrom(codec: Codec, doc: string): Subscription {
  return deepFreeze(withSubscriptionDefaults(JSON.parse(codec.decode(doc)) as Subscription));
}

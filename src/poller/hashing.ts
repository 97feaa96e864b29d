import { createHmac, hkdfSync } from 'node:crypto';
import type { SourceRecord } from '../sources/types.js';

/** Prefix of a hashed field value in a snapshot (`BRIDGE_SNAPSHOT_MODE=hashed`). */
export const HASHED = 'hmac:';

/** Turns a record into the form a snapshot keeps. */
export type SnapshotHasher = (record: SourceRecord) => SourceRecord;

/**
 * The hashed-snapshot form (issue "Patient data", Snapshot modes): every field becomes
 * `hmac:` + 128 bits of HMAC-SHA256 over its name and JSON value, except `id` and `clear` — the
 * version field, lifecycle columns and what domain events read (statuses, appointment times), which
 * carry no identity. Equal values hash equal, so diffs still name the changed fields, while old
 * values of names, contact details and notes are never stored.
 * @param key 32 bytes: `BRIDGE_HASH_KEY`, or derived from `BRIDGE_ENCRYPTION_KEY` (`hashKeyFrom`).
 */
export function snapshotHasher(key: Buffer, clear: readonly string[]): SnapshotHasher {
  const keep = new Set(['id', ...clear]);
  return (record) => {
    const out: SourceRecord = { id: record.id };
    for (const [field, value] of Object.entries(record)) {
      if (keep.has(field)) out[field] = value;
      else
        out[field] =
          HASHED +
          createHmac('sha256', key)
            .update(`${field}\0${JSON.stringify(value ?? null)}`)
            .digest('base64url')
            .slice(0, 22);
    }
    return out;
  };
}

/** The fields of a (possibly hashed) snapshot that are readable values: hashed ones are left out. */
export function readable(record: Record<string, unknown>): SourceRecord {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => !(typeof v === 'string' && v.startsWith(HASHED)))) as SourceRecord;
}

/** The HMAC key of hashed snapshots when only the encryption key is set (HKDF-SHA256). */
export function hashKeyFrom(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'clinic-event-bridge snapshot hash', 32));
}

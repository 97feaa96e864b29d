/**
 * Names of the store's part files (docs/storage.md). Small, hot state shares one part; large state
 * is in range tables (`range-table.ts`: `snap.<source>.<resource>.<n>`, `evt.<n>`, `evi.<n>`,
 * `dlb.<n>`, `dli.<n>`), whose bucket files split as they grow:
 * - `meta`: subscriptions, API keys, per-resource cursors, events not yet dispatched;
 * - `aud.<YYYY-MM-DDTHH>`: audit entries of that UTC hour (admin actions: few).
 * Layouts before version 4 also had `dlv.<YYYY-MM-DDTHH>` parts (deliveries per hour), read when
 * migrating.
 */
export const META_PART = 'meta';

/** The table name (bucket file prefix) of a resource's snapshots, e.g. `snap.cliniko.patients`. */
export function snapshotPart(resourceKey: string): string {
  return `snap.${resourceKey.replace(/[^a-z0-9_]+/gi, '.')}`;
}

/** The UTC hour of an ISO time, e.g. `2026-11-23T06`. */
export function hourOf(iso: string): string {
  return iso.slice(0, 13);
}

export function auditPart(at: string): string {
  return `aud.${hourOf(at)}`;
}

/** The file of a part written at checkpoint generation `gen`: files are never overwritten in place. */
export function partFile(part: string, gen: number): string {
  return `${part}.g${gen}.json`;
}

export function journalFile(gen: number): string {
  return `journal.${gen}.ndjson`;
}

export const JOURNAL_FILE = /^journal\.(\d+)\.ndjson$/;

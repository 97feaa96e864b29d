/**
 * Which part file holds what (docs/storage.md). Small, hot state shares one part; large state is
 * split so a checkpoint rewrites only what changed:
 * - `meta`: subscriptions and per-resource cursors;
 * - `snap.<source>.<resource>`: the snapshots of one resource;
 * - `evt.<YYYY-MM-DDTHH>`: events detected in that UTC hour;
 * - `dlv.<YYYY-MM-DDTHH>`: deliveries created in that UTC hour.
 * Hourly, so a checkpoint during a busy day serialises one hour of events, not the whole day.
 */
export const META_PART = 'meta';

export function snapshotPart(resourceKey: string): string {
  return `snap.${resourceKey.replace(/[^a-z0-9_]+/gi, '.')}`;
}

/** The UTC hour of an ISO time, e.g. `2026-11-23T06`. */
export function hourOf(iso: string): string {
  return iso.slice(0, 13);
}

export function eventPart(timestamp: string): string {
  return `evt.${hourOf(timestamp)}`;
}

export function deliveryPart(createdAt: string): string {
  return `dlv.${hourOf(createdAt)}`;
}

/** The file of a part written at checkpoint generation `gen`: files are never overwritten in place. */
export function auditPart(at: string): string {
  return `aud.${hourOf(at)}`;
}

export function partFile(part: string, gen: number): string {
  return `${part}.g${gen}.json`;
}

export function journalFile(gen: number): string {
  return `journal.${gen}.ndjson`;
}

export const JOURNAL_FILE = /^journal\.(\d+)\.ndjson$/;

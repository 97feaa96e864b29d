/**
 * Which part file holds what (docs/storage.md). Small, hot state shares one part; large state is
 * split so a checkpoint rewrites only what changed:
 * - `meta`: subscriptions and per-resource cursors;
 * - `snap.<source>.<resource>`: the snapshots of one resource;
 * - `evt.<YYYY-MM-DD>`: events detected that UTC day;
 * - `dlv.<YYYY-MM-DD>`: deliveries created that UTC day.
 */
export const META_PART = 'meta';

export function snapshotPart(resourceKey: string): string {
  return `snap.${resourceKey.replace(/[^a-z0-9_]+/gi, '.')}`;
}

/** The UTC day of an ISO time, e.g. `2026-11-23`. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

export function eventPart(timestamp: string): string {
  return `evt.${dayOf(timestamp)}`;
}

export function deliveryPart(createdAt: string): string {
  return `dlv.${dayOf(createdAt)}`;
}

/** The file of a part written at checkpoint generation `gen`: files are never overwritten in place. */
export function partFile(part: string, gen: number): string {
  return `${part}.g${gen}.json`;
}

export function journalFile(gen: number): string {
  return `journal.${gen}.ndjson`;
}

export const JOURNAL_FILE = /^journal\.(\d+)\.ndjson$/;

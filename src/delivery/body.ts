import type { Subscription } from '../store/schema.js';
import type { EventEnvelope } from '../events/envelope.js';

/**
 * Per source, the API base URL the bridge is configured to read from (e.g. `{ cliniko:
 * 'http://127.0.0.1:4010/v1' }` from `CLINIKO_BASE_URL`). A thin payload's `links.self` points there,
 * so a receiver fetches the record where the bridge's key works (the simulator's when testing, a
 * proxy's behind one), not at the shard the upstream names in its own links.
 */
export type ApiBaseUrls = Readonly<Record<string, string | undefined>>;

/**
 * `link` moved under `base`, keeping what follows the API version (`https://api.au1.cliniko.com/v1/patients/1`
 * with base `http://127.0.0.1:4010/v1` → `http://127.0.0.1:4010/v1/patients/1`). Unchanged without
 * a base, or when the link has no `/v1/` segment to anchor on.
 */
function rebase(link: string, base: string | undefined): string {
  if (!base) return link;
  const at = link.indexOf('/v1/');
  return at < 0 ? link : `${base.replace(/\/+$/, '')}/${link.slice(at + '/v1/'.length)}`;
}

/**
 * The body a subscription receives for an event (issue "Patient data", Payload modes):
 * - `full` (default): the event as stored — `data.object` is the record as the source returned it,
 *   `data.previous_attributes` the old values. With a `fields` allow-list, both keep only those fields
 *   (and `id`), and domain events' extra values (`from`, `to`, `previous`, …) are left out; the
 *   names in `changed_fields` (hashed snapshots) and `previous_attributes: null` with `snapshot: "none"`
 *   (no previous version known) are kept.
 * - `thin`: no record values at all — type, ids, the names of the changed fields (or `snapshot:
 *   "none"` instead when no previous version was known) and the source's `links.self`, so the
 *   receiver fetches what it needs with its own credentials.
 * The same event and subscription always give the same bytes, so retries and replays are identical.
 * @param apiBase where thin `links.self` point (see {@link ApiBaseUrls}); the upstream's own link without it.
 */
export function deliveryBody(event: EventEnvelope, sub: Pick<Subscription, 'payload' | 'fields'>, apiBase: ApiBaseUrls = {}): string {
  if (sub.payload === 'thin') {
    const object = event.data.object as { links?: { self?: unknown } };
    const self = typeof object.links?.self === 'string' ? rebase(object.links.self, apiBase[event.data.source]) : null;
    return JSON.stringify({
      id: event.id,
      type: event.type,
      timestamp: event.timestamp,
      data: {
        source: event.data.source,
        resource: event.data.resource,
        id: event.data.id,
        ...changedFields(event),
        links: { self },
      },
    });
  }
  if (!sub.fields) return JSON.stringify(event);
  const allowed = new Set(['id', ...sub.fields]);
  const pick = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => allowed.has(k)));
  const { source, resource, id, object, previous_attributes, snapshot, changed_fields } = event.data;
  return JSON.stringify({
    ...event,
    data: {
      source,
      resource,
      id,
      object: pick(object),
      ...(previous_attributes !== undefined ? { previous_attributes: previous_attributes && pick(previous_attributes) } : {}),
      // Names only, so they pass the allow-list: "which fields changed" says no values.
      ...(changed_fields ? { changed_fields } : {}),
      ...(snapshot ? { snapshot } : {}),
    },
  });
}

/**
 * What a thin payload says changed: the names in `previous_attributes`, or in `changed_fields` (hashed
 * snapshots keep no old values); with no previous version known (`snapshot: "none"`) it says so
 * instead of sending an empty list that would read as "nothing changed".
 */
function changedFields(event: EventEnvelope): { changed_fields: string[] } | { snapshot: 'none' } {
  if (event.data.snapshot === 'none') return { snapshot: 'none' };
  return { changed_fields: event.data.changed_fields ?? Object.keys(event.data.previous_attributes ?? {}) };
}

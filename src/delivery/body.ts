import type { EventPayload, Subscription } from '../store/schema.js';

/**
 * The body a subscription receives for an event (issue "Patient data", Payload modes):
 * - `full` (default): the event as stored — `data.object` is the record as the source returned it,
 *   `data.previous_attributes` the old values. With a `fields` allow-list, both keep only those fields
 *   (and `id`), and domain events' extra values (`from`, `to`, `previous`, …) are left out.
 * - `thin`: no record values at all — type, ids, the names of the changed fields and the source's
 *   `links.self`, so the receiver fetches what it needs with its own credentials.
 * The same event and subscription always give the same bytes, so retries and replays are identical.
 */
export function deliveryBody(event: EventPayload, sub: Pick<Subscription, 'payload' | 'fields'>): string {
  if (sub.payload === 'thin') {
    const object = event.data.object as { links?: { self?: unknown } };
    const self = typeof object.links?.self === 'string' ? object.links.self : null;
    return JSON.stringify({
      id: event.id,
      type: event.type,
      timestamp: event.timestamp,
      data: {
        source: event.data.source,
        resource: event.data.resource,
        id: event.data.id,
        changed_fields: Object.keys(event.data.previous_attributes ?? {}),
        links: { self },
      },
    });
  }
  if (!sub.fields) return JSON.stringify(event);
  const allowed = new Set(['id', ...sub.fields]);
  const pick = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => allowed.has(k)));
  const { source, resource, id, object, previous_attributes } = event.data;
  return JSON.stringify({
    ...event,
    data: { source, resource, id, object: pick(object), ...(previous_attributes ? { previous_attributes: pick(previous_attributes) } : {}) },
  });
}

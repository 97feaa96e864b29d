import type { DerivedEvent, SourceRecord } from '../types.js';

/**
 * The field the bridge adds to every Esteem appointment it reports: whether the appointment is in
 * the `pending_documentation` list. Esteem's appointment object has no such field; the list is the
 * only place this state lives, and a field is what lets a change of it be compared like any other.
 */
export const DOCUMENTATION_FIELD = 'documentation_pending';

/** Every event type the Esteem source emits, in catalogue order (docs/esteem.md). */
export const ESTEEM_EVENT_TYPES = [
  'appointment.created',
  'appointment.updated',
  'appointment.rescheduled',
  'appointment.status_changed',
  'appointment.cancelled',
  'appointment.documentation_pending',
  'appointment.documentation_completed',
  'appointment.removed',
] as const;

/**
 * Domain events of an appointment change, emitted after `appointment.updated` (Stripe-style: a
 * change can be both `invoice.updated` and `invoice.paid`). A new appointment gets none: its
 * `appointment.created` already carries its status, schedule and documentation state.
 * - `rescheduled`: `scheduled_at` or `provider_id` changed; `data.previous` holds both old values;
 * - `status_changed`: `data.from` and `data.to`;
 * - `cancelled`: the status became `cancelled` (in addition to `status_changed`);
 * - `documentation_pending` / `documentation_completed`: the appointment entered / left the
 *   pending-documentation list.
 */
export function deriveAppointmentEvents(
  previous: SourceRecord | undefined,
  current: SourceRecord,
  changedFields: readonly string[],
): DerivedEvent[] {
  if (!previous) return [];
  const changed = new Set(changedFields);
  const events: DerivedEvent[] = [];
  if (changed.has('scheduled_at') || changed.has('provider_id')) {
    events.push({
      kind: 'rescheduled',
      data: { previous: { scheduled_at: previous.scheduled_at ?? null, provider_id: previous.provider_id ?? null } },
    });
  }
  if (changed.has('status')) {
    events.push({ kind: 'status_changed', data: { from: previous.status ?? null, to: current.status ?? null } });
    if (isCancelled(current.status) && !isCancelled(previous.status)) events.push({ kind: 'cancelled' });
  }
  if (changed.has(DOCUMENTATION_FIELD)) {
    const now = current[DOCUMENTATION_FIELD] === true;
    const was = previous[DOCUMENTATION_FIELD] === true;
    if (now && !was) events.push({ kind: 'documentation_pending' });
    if (was && !now) events.push({ kind: 'documentation_completed' });
  }
  return events;
}

/** `cancelled` (and the American `canceled`), whatever the case. */
export function isCancelled(status: unknown): boolean {
  return typeof status === 'string' && /^cancell?ed$/i.test(status.trim());
}

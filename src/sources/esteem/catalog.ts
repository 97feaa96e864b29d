import type { EventTypeDoc } from '../cliniko/catalog.js';
import { DOCUMENTATION_FIELD, ESTEEM_EVENT_TYPES } from './events.js';

const APPOINTMENT = {
  id: '1028',
  patient_id: 1049,
  provider_id: 456,
  scheduled_at: '2026-11-27T14:30:00.000Z',
  status: 'scheduled',
  appointment_type: 'therapy',
  duration_minutes: 60,
  notes: 'Initial consultation',
  created_at: '2026-11-20T10:00:00.000Z',
  updated_at: '2026-11-23T06:50:00.000Z',
  [DOCUMENTATION_FIELD]: false,
};

const DESCRIPTIONS: Record<
  (typeof ESTEEM_EVENT_TYPES)[number],
  {
    description: string;
    domain: boolean;
    previous?: Record<string, unknown>;
    extra?: Record<string, unknown>;
    object?: Record<string, unknown>;
  }
> = {
  'appointment.created': { description: 'an appointment the bridge has never seen appeared in the window', domain: false },
  'appointment.updated': { description: 'any field of an appointment changed', domain: false, previous: { notes: 'First visit' } },
  'appointment.rescheduled': {
    description: '`scheduled_at` or `provider_id` changed; `data.previous` holds both old values',
    domain: true,
    previous: { scheduled_at: '2026-11-26T09:00:00.000Z' },
    extra: { previous: { scheduled_at: '2026-11-26T09:00:00.000Z', provider_id: 456 } },
  },
  'appointment.status_changed': {
    description: '`status` changed; `data.from` and `data.to`',
    domain: true,
    previous: { status: 'scheduled' },
    extra: { from: 'scheduled', to: 'completed' },
    object: { status: 'completed' },
  },
  'appointment.cancelled': {
    description: 'the status became `cancelled` (with `status_changed`)',
    domain: true,
    previous: { status: 'scheduled' },
    object: { status: 'cancelled' },
  },
  'appointment.documentation_pending': {
    description: 'the appointment entered the pending-documentation list',
    domain: true,
    previous: { [DOCUMENTATION_FIELD]: false },
    object: { [DOCUMENTATION_FIELD]: true },
  },
  'appointment.documentation_completed': {
    description: 'the appointment left the pending-documentation list while it still exists',
    domain: true,
    previous: { [DOCUMENTATION_FIELD]: true },
  },
  'appointment.removed': {
    description: 'the appointment is gone from a window it should still be in (moving out of the window by time emits nothing)',
    domain: false,
  },
};

/** The Esteem source's event types for the catalogue (src/catalog), with example delivery bodies (docs/esteem.md). */
export function esteemEventTypes(): EventTypeDoc[] {
  return ESTEEM_EVENT_TYPES.map((type, i) => {
    const d = DESCRIPTIONS[type];
    return {
      type,
      description: d.description,
      domain: d.domain,
      source: 'esteem',
      resource: 'appointments',
      example: {
        id: `evt_01KAPZ6M3X8Q3J9V4T7R2N5E${String(i).padStart(2, '0')}`,
        type,
        timestamp: '2026-11-23T06:50:31.412Z',
        data: {
          source: 'esteem',
          resource: 'appointment',
          id: APPOINTMENT.id,
          object: { ...APPOINTMENT, ...d.object },
          ...(d.previous ? { previous_attributes: d.previous } : {}),
          ...d.extra,
        },
      },
    };
  });
}

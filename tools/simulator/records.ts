import { RESOURCE_SPECS, type SimResource } from './resources.js';
import { SHAPES } from './shapes.js';
import { normalizeDateTime } from './time.js';

/** A stored record: Cliniko's fields plus the three every record has. */
export type SimRecord = Record<string, unknown> & { id: string; created_at: string; updated_at: string };

/** Cliniko's link object, e.g. `{ links: { self: "https://api.au1.cliniko.com/v1/patients/1" } }`. */
export function linkTo(base: string, collection: string, id: string): { links: { self: string } } {
  return { links: { self: `${base}/${collection}/${id}` } };
}

/** Cancellation reason codes and their descriptions (Cliniko API docs, Attendees). */
export const CANCELLATION_REASONS: Readonly<Record<number, string>> = {
  10: 'Feeling better',
  20: 'Condition worse',
  30: 'Sick',
  31: 'COVID-19 related',
  40: 'Away',
  50: 'Other',
  60: 'Work',
};

/**
 * A record with every field Cliniko returns for the resource at its create-time default (seeds:
 * contacts, attendees, individual appointments; current spec for patients and group appointments).
 * `base` is the API base, e.g. `https://api.au1.cliniko.com/v1`.
 */
export function blankRecord(resource: SimResource, id: string, at: string, base: string): SimRecord {
  const self = `${base}/${resource}/${id}`;
  // No `...head` spread here: spreading into a large literal is ~100x slower in V8, and benchmarks
  // seed 100k records.
  switch (resource) {
    case 'patients':
      return {
        id,
        created_at: at,
        updated_at: at,
        accepted_email_marketing: false,
        accepted_privacy_policy: null,
        accepted_sms_marketing: false,
        address_1: '',
        address_2: '',
        address_3: '',
        appointment_notes: null,
        archived_at: null,
        city: '',
        country: '',
        country_code: null,
        date_of_birth: null,
        deleted_at: null,
        email: null,
        emergency_contact: '',
        first_name: '',
        gender_identity: null,
        invoice_default_to: null,
        invoice_email: null,
        invoice_extra_information: null,
        last_name: '',
        medicare: null,
        medicare_reference_number: null,
        merged_at: null,
        merged_with_patient: null,
        notes: null,
        occupation: '',
        old_reference_id: '',
        phone_numbers: [],
        post_code: '',
        preferred_first_name: '',
        pronouns: null,
        receives_confirmation_emails: true,
        referral_source: null,
        reminder_type: 'SMS & Email',
        sex: null,
        state: '',
        time_zone: null,
        title: '',
        appointments: { links: { self: `${self}/appointments` } },
        attendees: { links: { self: `${self}/attendees` } },
        invoices: { links: { self: `${self}/invoices` } },
        medical_alerts: { links: { self: `${self}/medical_alerts` } },
        links: { self },
      };
    case 'contacts':
      return {
        id,
        created_at: at,
        updated_at: at,
        address_1: '',
        address_2: '',
        address_3: '',
        archived_at: null,
        city: '',
        company_name: '',
        country: '',
        country_code: null,
        deleted_at: null,
        doctor_type: null,
        email: '',
        first_name: '',
        last_name: '',
        notes: '',
        occupation: '',
        phone_numbers: [],
        post_code: '',
        preferred_name: '',
        provider_number: '',
        state: '',
        title: '',
        type: 'Standard',
        type_code: 0,
        links: { self },
      };
    case 'attendees':
      return {
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        arrived: null,
        booking_ip_address: null,
        cancellation_note: null,
        cancellation_reason: null,
        cancellation_reason_description: '',
        cancelled_at: null,
        deleted_at: null,
        email_reminder_sent: false,
        invoice_status: null,
        notes: null,
        online_booking_policy_accepted: null,
        sms_reminder_sent: false,
        treatment_note_status: null,
        booking: null,
        patient: null,
        invoices: { links: { self: `${self}/invoices` } },
        links: { self },
      };
    case 'individual_appointments':
      return {
        id,
        created_at: at,
        updated_at: at,
        appointment_type: null,
        archived_at: null,
        attendees: { links: { self: `${self}/attendees` } },
        booking_ip_address: null,
        business: null,
        cancellation_note: null,
        cancellation_reason: null,
        cancellation_reason_description: null,
        cancelled_at: null,
        conflicts: { links: { self: `${self}/conflicts` } },
        deleted_at: null,
        did_not_arrive: false,
        email_reminder_sent: false,
        ends_at: at,
        has_patient_appointment_notes: false,
        invoice_status: null,
        notes: null,
        online_booking_policy_accepted: null,
        patient: null,
        patient_arrived: false,
        patient_case: null,
        patient_name: null,
        practitioner: null,
        repeat_rule: null,
        repeated_from: null,
        repeats: null,
        sms_reminder_sent: false,
        starts_at: at,
        telehealth_url: null,
        treatment_note_status: null,
        links: { self },
      };
    case 'group_appointments':
      return {
        id,
        created_at: at,
        updated_at: at,
        appointment_type: null,
        archived_at: null,
        attendees: { links: { self: `${self}/attendees` } },
        business: null,
        deleted_at: null,
        ends_at: at,
        max_attendees: 10,
        notes: null,
        practitioner: null,
        repeat_rule: null,
        repeated_from: null,
        repeats: null,
        starts_at: at,
        telehealth_url: null,
        links: { self },
      };
    default: {
      const shape = SHAPES[resource];
      // `/bookings` is a read-only union: its rows are created as appointments or unavailable blocks.
      if (!shape) throw new Error(`simulator: ${resource} records are not created directly`);
      return shape.blank(id, at, self);
    }
  }
}

// Never taken from written fields: the server owns them.
const SERVER_FIELDS = new Set(['id', 'created_at', 'updated_at', 'links']);

/**
 * Turns write parameters (HTTP bodies, `create`/`update` fields) into record fields the way Cliniko
 * does: `patient_id: "1"` becomes `patient: { links: { self: ".../patients/1" } }`, date-times are
 * stored as whole-second UTC, and server-owned fields are dropped.
 */
export function writeFields(resource: SimResource, input: Record<string, unknown>, base: string): Record<string, unknown> {
  const spec = RESOURCE_SPECS[resource];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (SERVER_FIELDS.has(key)) continue;
    const linkColumn = spec.linkColumns[key];
    if (linkColumn) {
      out[linkColumn.field] = value === null ? null : linkTo(base, linkColumn.collection, canonicalId(value));
    } else if (spec.dateTimeFields.includes(key)) {
      out[key] = normalizeDateTime(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

// `7`, `"007"` and `"7"` name the same record; store the canonical form so ids compare numerically.
function canonicalId(value: unknown): string {
  const text = String(value).trim();
  return /^\d+$/.test(text) ? BigInt(text).toString() : text;
}

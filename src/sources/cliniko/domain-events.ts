import type { DerivedEvent, SourceRecord } from '../types.js';

/**
 * The moments clinics automate on, derived from field transitions and emitted **in addition** to
 * the generic `.updated` / lifecycle event of the same change (as Stripe sends `invoice.updated`
 * and `invoice.paid`). A domain event fires on a transition between two versions the bridge saw,
 * never for a record seen for the first time (so a backfill does not replay history as news).
 */
export interface DomainEvent {
  /** Resource path, e.g. `invoices`. */
  resource: string;
  /** Event suffix: `<name>.<kind>`, e.g. `invoice.paid`. */
  kind: string;
  description: string;
  /**
   * The extra `data` fields when the change from `previous` to `current` is this moment, `null`
   * when it is not. `changed` holds the top-level fields whose value differs.
   */
  derive(previous: SourceRecord, current: SourceRecord, changed: ReadonlySet<string>): Record<string, unknown> | null;
  /** Fields of the example record before and after, overlaid on the resource's example. */
  example: { before: Record<string, unknown>; after: Record<string, unknown> };
}

const PAID = 20;
/** Treatment note `treatment_note_status` codes (Cliniko API docs, https://docs.api.cliniko.com/). */
const NOTE_DRAFT = 10;
const NOTE_FINAL = 90;

const RESCHEDULE_FIELDS = ['starts_at', 'ends_at', 'practitioner'] as const;

/**
 * Every field a domain event reads from the previous version: hashed snapshots keep these readable
 * (appointment times, statuses and flags — no names, contact details or notes).
 */
export const DOMAIN_FIELDS: readonly string[] = [
  ...RESCHEDULE_FIELDS,
  'did_not_arrive',
  'patient_arrived',
  'arrived',
  'status',
  'draft',
  'treatment_note_status',
  'merged_at',
  'completed_at',
];

const becameTrue = (field: string) => (p: SourceRecord, c: SourceRecord) => (p[field] !== true && c[field] === true ? {} : null);
const wasSet = (field: string) => (p: SourceRecord, c: SourceRecord) => p[field] == null && c[field] != null;
const pick = (r: SourceRecord, fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null]));
const isDraft = (r: SourceRecord) => r.draft === true || r.treatment_note_status === NOTE_DRAFT;
const isFinal = (r: SourceRecord) => r.draft === false || r.treatment_note_status === NOTE_FINAL;

/** The id at the end of a Cliniko link object (`{ links: { self: ".../patients/42" } }`). */
export function linkedId(value: unknown): string | null {
  const self = (value as { links?: { self?: unknown } } | null | undefined)?.links?.self;
  return typeof self === 'string' ? self.slice(self.lastIndexOf('/') + 1) : null;
}

const PRACTITIONER_1 = { links: { self: 'https://api.au1.cliniko.com/v1/practitioners/68247118367917570' } };
const PRACTITIONER_2 = { links: { self: 'https://api.au1.cliniko.com/v1/practitioners/68247118367917571' } };

export const DOMAIN_EVENTS: readonly DomainEvent[] = [
  {
    resource: 'individual_appointments',
    kind: 'rescheduled',
    description:
      'An individual appointment moved: `starts_at`, `ends_at` or the practitioner changed. `data.from` and `data.to` hold all three before and after.',
    derive: (p, c, changed) =>
      RESCHEDULE_FIELDS.some((f) => changed.has(f)) ? { from: pick(p, RESCHEDULE_FIELDS), to: pick(c, RESCHEDULE_FIELDS) } : null,
    example: {
      before: { starts_at: '2026-11-24T23:00:00Z', ends_at: '2026-11-24T23:30:00Z', practitioner: PRACTITIONER_1 },
      after: { starts_at: '2026-11-26T01:15:00Z', ends_at: '2026-11-26T01:45:00Z', practitioner: PRACTITIONER_2 },
    },
  },
  {
    resource: 'individual_appointments',
    kind: 'did_not_arrive',
    description: 'An individual appointment was marked did-not-arrive (`did_not_arrive` became true).',
    derive: becameTrue('did_not_arrive'),
    example: { before: { did_not_arrive: false }, after: { did_not_arrive: true } },
  },
  {
    resource: 'individual_appointments',
    kind: 'patient_arrived',
    description: 'The patient of an individual appointment was marked arrived (`patient_arrived` became true).',
    derive: becameTrue('patient_arrived'),
    example: { before: { patient_arrived: false }, after: { patient_arrived: true } },
  },
  {
    resource: 'attendees',
    kind: 'arrived',
    description: 'An attendee was marked arrived (`arrived` became true).',
    derive: becameTrue('arrived'),
    example: { before: { arrived: null }, after: { arrived: true } },
  },
  {
    resource: 'attendees',
    kind: 'did_not_arrive',
    description: 'An attendee was marked did-not-arrive (`arrived` became false).',
    derive: (p, c) => (p.arrived !== false && c.arrived === false ? {} : null),
    example: { before: { arrived: null }, after: { arrived: false } },
  },
  {
    resource: 'invoices',
    kind: 'paid',
    description: 'An invoice was paid in full (`status` became 20). `data.from` is the status before.',
    derive: (p, c) => (p.status !== PAID && c.status === PAID ? { from: p.status ?? null, to: PAID } : null),
    example: {
      before: { status: 10, status_description: 'Open', closed_at: null },
      after: { status: 20, status_description: 'Paid', closed_at: '2026-11-23T06:50:00Z' },
    },
  },
  {
    resource: 'invoices',
    kind: 'status_changed',
    description: 'An invoice’s `status` changed (10 Open, 20 Paid, 30 Closed, 40 Open credit). `data.from` and `data.to` are the codes.',
    derive: (p, c, changed) => (changed.has('status') && p.status != null ? { from: p.status, to: c.status ?? null } : null),
    example: {
      before: { status: 10, status_description: 'Open', closed_at: null },
      after: { status: 20, status_description: 'Paid', closed_at: '2026-11-23T06:50:00Z' },
    },
  },
  {
    resource: 'treatment_notes',
    kind: 'finalised',
    description: 'A treatment note went from draft to final (`draft` became false, or `treatment_note_status` 10 → 90).',
    derive: (p, c) => (isDraft(p) && isFinal(c) && !isDraft(c) ? {} : null),
    example: { before: { draft: true }, after: { draft: false } },
  },
  {
    resource: 'patients',
    kind: 'merged',
    description: 'A patient was merged into another (`merged_at` set). `data.merged_with_patient_id` is the patient that remains.',
    derive: (p, c) => (wasSet('merged_at')(p, c) ? { merged_with_patient_id: linkedId(c.merged_with_patient) } : null),
    example: {
      before: { merged_at: null, merged_with_patient: null },
      after: {
        merged_at: '2026-11-23T06:50:00Z',
        merged_with_patient: { links: { self: 'https://api.au1.cliniko.com/v1/patients/1000000000000000417' } },
      },
    },
  },
  {
    resource: 'patient_forms',
    kind: 'completed',
    description: 'A patient submitted a form (`completed_at` set).',
    derive: (p, c) => (wasSet('completed_at')(p, c) ? {} : null),
    example: { before: { completed_at: null }, after: { completed_at: '2026-11-23T06:50:00Z' } },
  },
];

/** The domain events of one resource, in catalogue order. */
export function domainEventsOf(path: string): DomainEvent[] {
  return DOMAIN_EVENTS.filter((d) => d.resource === path);
}

/** Runs a resource's domain rules on one change (the `ChangeFeed.deriveEvents` hook). */
export function deriveDomainEvents(
  rules: readonly DomainEvent[],
  previous: SourceRecord | undefined,
  current: SourceRecord,
  changedFields: readonly string[],
): DerivedEvent[] {
  if (!previous || rules.length === 0) return [];
  const changed = new Set(changedFields);
  const out: DerivedEvent[] = [];
  for (const rule of rules) {
    const data = rule.derive(previous, current, changed);
    if (data) out.push(Object.keys(data).length > 0 ? { kind: rule.kind, data } : { kind: rule.kind });
  }
  return out;
}

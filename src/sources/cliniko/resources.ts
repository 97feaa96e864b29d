import type { LifecycleColumn, Tier } from '../types.js';

/**
 * How often a resource is worth polling, relative to the others sharing the key's budget: `hot`
 * resources change all day and clinics automate on them; `cold` ones are settings. The scheduler
 * polls hot first and never lets cold starve. `config/default.json` (`cliniko.tiers`) assigns them;
 * `tier` below is the same assignment, used when a feed is built without configuration.
 */
export type ClinikoTier = Tier;

/**
 * One entry per Cliniko resource the bridge polls. Adding a resource is adding an entry here (and,
 * for the simulator, a record shape). Facts from the Cliniko API docs (https://docs.api.cliniko.com/): "Lists" and the
 * per-resource pages.
 */
export interface ClinikoResource {
  /** List path under `/v1`, also the key of the array in list responses. */
  path: string;
  /** Singular name used in event types. */
  name: string;
  /** Human singular for documentation, e.g. `individual appointment`. */
  label: string;
  /** What the resource is, one line, for the event catalogue. */
  summary: string;
  lifecycle: readonly LifecycleColumn[];
  /**
   * Columns whose non-null rows list endpoints hide unless a filter names them; the poller adds
   * `q[]=<column>:*` for each so cancelled/archived records are seen.
   */
  hiddenColumns: readonly string[];
  /**
   * How deletions are found:
   * - `list` reads the old `/<path>/deleted` list;
   * - `filter` asks the main list for `deleted_at` at or after the deletion cursor;
   * - `absent`: the resource has no `deleted_at` (Cliniko deletes these rows outright), so every poll
   *   re-reads the whole (small) list and a known id that is gone is reported `.deleted`;
   * - `none`: records are only archived, never deleted (or deletion is not observable cheaply).
   */
  deletions: 'list' | 'filter' | 'absent' | 'none';
  /** More list paths holding the rest of the records, read with the same cursor. */
  extraLists?: readonly string[];
  tier: ClinikoTier;
  /** Catalogue descriptions that say more than the generic one, by event suffix. */
  descriptions?: Readonly<Record<string, string>>;
}

const CANCELLED: LifecycleColumn = { column: 'cancelled_at', set: 'cancelled' };
const ARCHIVED: LifecycleColumn = { column: 'archived_at', set: 'archived', cleared: 'unarchived' };
const DELETED: LifecycleColumn = { column: 'deleted_at', set: 'deleted' };

type Entry = Omit<ClinikoResource, 'lifecycle' | 'hiddenColumns'> & { lifecycle: readonly LifecycleColumn[] };

/** Hidden columns are the lifecycle columns lists hide: cancelled_at and archived_at. */
function resource(entry: Entry): ClinikoResource {
  const hiddenColumns = entry.lifecycle.map((l) => l.column).filter((c) => c === 'cancelled_at' || c === 'archived_at');
  return { ...entry, hiddenColumns };
}

export const CLINIKO_RESOURCES: readonly ClinikoResource[] = [
  // hot: what clinics automate on
  resource({
    path: 'patients',
    name: 'patient',
    label: 'patient',
    summary: 'People the clinic treats.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
  }),
  resource({
    path: 'contacts',
    name: 'contact',
    label: 'contact',
    summary: 'Referring doctors, insurers and other contacts.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'filter',
    tier: 'warm',
  }),
  resource({
    path: 'attendees',
    name: 'attendee',
    label: 'attendee',
    summary: 'A patient booked into an appointment (every appointment has attendees; group ones several).',
    lifecycle: [CANCELLED, ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
  }),
  resource({
    path: 'individual_appointments',
    name: 'individual_appointment',
    label: 'individual appointment',
    summary: 'An appointment with one patient.',
    lifecycle: [CANCELLED, ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
    descriptions: {
      created: 'A new individual appointment was booked (online or by reception).',
      cancelled:
        'An individual appointment was cancelled (`cancelled_at` set; `cancellation_reason` 10–60 and `cancellation_note` tell why). Clearing it again is a plain `.updated`.',
    },
  }),
  resource({
    path: 'group_appointments',
    name: 'group_appointment',
    label: 'group appointment',
    summary: 'A class or group session; its attendees are cancelled, not the group.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
  }),
  resource({
    path: 'bookings',
    name: 'booking',
    label: 'booking',
    summary:
      'The union view of individual appointments, group appointments and unavailable blocks (read-only); its events repeat theirs under one prefix.',
    lifecycle: [CANCELLED, ARCHIVED, DELETED],
    deletions: 'filter',
    tier: 'hot',
    descriptions: {
      created: 'A new booking of any kind: an individual or group appointment, or an unavailable block (the `/bookings` union).',
    },
  }),
  resource({
    path: 'invoices',
    name: 'invoice',
    label: 'invoice',
    summary: 'Invoices; `status` 10 Open, 20 Paid, 30 Closed, 40 Open credit.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
  }),
  resource({
    path: 'treatment_notes',
    name: 'treatment_note',
    label: 'treatment note',
    summary: 'Clinical notes of a visit; `draft` until finalised.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'hot',
  }),
  // warm: patient records and money that change during the day, less often
  resource({
    path: 'invoice_items',
    name: 'invoice_item',
    label: 'invoice item',
    summary: 'Lines of invoices.',
    lifecycle: [DELETED],
    deletions: 'list',
    tier: 'warm',
  }),
  resource({
    path: 'medical_alerts',
    name: 'medical_alert',
    label: 'medical alert',
    summary: 'Alerts on a patient (allergies, conditions) shown to practitioners.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'warm',
    descriptions: {
      created: 'A medical alert was added to a patient (an allergy, a condition): the moment add-ons notify practitioners on.',
    },
  }),
  resource({
    path: 'patient_cases',
    name: 'patient_case',
    label: 'patient case',
    summary: 'Cases grouping a patient’s appointments, attachments and invoices (e.g. an insurance claim).',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'warm',
  }),
  resource({
    path: 'patient_forms',
    name: 'patient_form',
    label: 'patient form',
    summary: 'Forms sent to patients (intake, consent); `completed_at` is set when the patient submits.',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'warm',
  }),
  resource({
    path: 'patient_attachments',
    name: 'patient_attachment',
    label: 'patient attachment',
    summary: 'Files uploaded to a patient’s profile.',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'warm',
  }),
  resource({
    path: 'communications',
    name: 'communication',
    label: 'communication',
    summary: 'Emails, SMS, letters and memos sent to or received from patients.',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'filter',
    tier: 'warm',
  }),
  resource({
    path: 'unavailable_blocks',
    name: 'unavailable_block',
    label: 'unavailable block',
    summary: 'Time a practitioner is unavailable (leave, meetings).',
    lifecycle: [ARCHIVED, DELETED],
    deletions: 'list',
    tier: 'warm',
  }),
  resource({
    path: 'stock_adjustments',
    name: 'stock_adjustment',
    label: 'stock adjustment',
    summary: 'Changes to a product’s stock level (purchases, sales, write-offs); never edited.',
    lifecycle: [],
    deletions: 'none',
    tier: 'warm',
  }),
  resource({
    path: 'relationships',
    name: 'relationship',
    label: 'relationship',
    summary: 'Links between patients (parent, guardian, partner).',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'warm',
  }),
  // cold: settings-like resources
  resource({
    path: 'practitioners',
    name: 'practitioner',
    label: 'practitioner',
    summary: 'Users who see patients; active ones in `/practitioners`, the rest in `/practitioners/inactive` (`active` tells which).',
    lifecycle: [DELETED],
    deletions: 'absent',
    extraLists: ['practitioners/inactive'],
    tier: 'cold',
  }),
  resource({
    path: 'businesses',
    name: 'business',
    label: 'business',
    summary: 'The clinic’s locations.',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'cold',
  }),
  resource({
    path: 'appointment_types',
    name: 'appointment_type',
    label: 'appointment type',
    summary: 'Kinds of appointment with their duration and default billable items.',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'cold',
  }),
  resource({
    path: 'products',
    name: 'product',
    label: 'product',
    summary: 'Products the clinic sells, with price and stock level.',
    lifecycle: [ARCHIVED],
    deletions: 'none',
    tier: 'cold',
  }),
  resource({
    path: 'users',
    name: 'user',
    label: 'user',
    summary: 'Everyone who can log in to the account (practitioners and staff).',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'billable_items',
    name: 'billable_item',
    label: 'billable item',
    summary: 'Services and fees that can go on an invoice.',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'concession_types',
    name: 'concession_type',
    label: 'concession type',
    summary: 'Discount categories (pensioner, student).',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'concession_prices',
    name: 'concession_price',
    label: 'concession price',
    summary: 'The price of a billable item for a concession type.',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'taxes',
    name: 'tax',
    label: 'tax',
    summary: 'Tax rates (GST, VAT).',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'services',
    name: 'service',
    label: 'service',
    summary: 'Which appointment types each business offers, and by which practitioners.',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'referral_source_types',
    name: 'referral_source_type',
    label: 'referral source type',
    summary: 'How patients heard of the clinic (the choices offered).',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'availability_blocks',
    name: 'availability_block',
    label: 'availability block',
    summary: 'One-off extra availability of a practitioner.',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
  resource({
    path: 'daily_availabilities',
    name: 'daily_availability',
    label: 'daily availability',
    summary: 'A practitioner’s regular hours at a business per weekday.',
    lifecycle: [DELETED],
    deletions: 'absent',
    tier: 'cold',
  }),
];

/** Paths accepted by `BRIDGE_RESOURCES`. */
export const CLINIKO_RESOURCE_PATHS = CLINIKO_RESOURCES.map((r) => r.path);

/** The tier every resource gets when configuration names none (mirrors `config/default.json`). */
export const DEFAULT_TIERS: Readonly<Record<string, ClinikoTier>> = Object.fromEntries(CLINIKO_RESOURCES.map((r) => [r.path, r.tier]));

export function clinikoResource(path: string): ClinikoResource | undefined {
  return CLINIKO_RESOURCES.find((r) => r.path === path);
}

/** Every generic event type a resource can emit, in catalogue order (domain events aside). */
export function eventTypesOf(resource: Pick<ClinikoResource, 'name' | 'lifecycle'>): string[] {
  const suffixes = ['created', 'updated', ...resource.lifecycle.flatMap((l) => (l.cleared ? [l.set, l.cleared] : [l.set]))];
  return suffixes.map((s) => `${resource.name}.${s}`);
}

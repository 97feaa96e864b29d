import type { Prng } from './prng.js';
import { CANCELLATION_REASONS, linkTo, type SimRecord } from './records.js';
import type { SimResource } from './resources.js';
import { SHAPES, type ShapeContext } from './shapes.js';
import { toIsoSeconds } from './time.js';

/**
 * Realistic random field values for generated records (seeded, no faker). Values follow the API docs'
 * example records; related ids (practitioners, businesses, appointment types) are a small fixed
 * set since the simulator does not serve those resources.
 */

const FIRST_NAMES = [
  'Olivia',
  'Liam',
  'Charlotte',
  'Noah',
  'Amelia',
  'Jack',
  'Isla',
  'William',
  'Mia',
  'Oliver',
  'Ava',
  'Leo',
  'Grace',
  'Lucas',
  'Chloe',
  'Henry',
  'Zoe',
  'Thomas',
  'Ruby',
  'James',
  'Priya',
  'Wei',
  'Aroha',
  'Mateo',
  'Fatima',
  'Hiroshi',
  'Siobhan',
  'Darrell',
  'Nguyen',
  'Sofia',
];
const LAST_NAMES = [
  'Smith',
  'Jones',
  'Williams',
  'Brown',
  'Wilson',
  'Taylor',
  'Johnson',
  'White',
  'Martin',
  'Anderson',
  'Thompson',
  'Nguyen',
  'Thomas',
  'Walker',
  'Harris',
  'Lee',
  'Ryan',
  'Robinson',
  'Kelly',
  'King',
  'Patel',
  'Chen',
  "O'Brien",
  'Singh',
  'Murphy',
  'Bode',
  'Jackson',
  'Kowalski',
  'Ngata',
  'García',
];
const STREETS = ['George St', 'King William Rd', 'Chapel St', 'Brunswick St', 'Oxford St', 'High St', 'Station Rd', 'Beach Rd'];
const PLACES = [
  { city: 'Sydney', state: 'NSW', post_code: '2000' },
  { city: 'Newtown', state: 'NSW', post_code: '2042' },
  { city: 'Melbourne', state: 'VIC', post_code: '3000' },
  { city: 'Fitzroy', state: 'VIC', post_code: '3065' },
  { city: 'Brisbane', state: 'QLD', post_code: '4000' },
  { city: 'Adelaide', state: 'SA', post_code: '5000' },
  { city: 'Perth', state: 'WA', post_code: '6000' },
  { city: 'Hobart', state: 'TAS', post_code: '7000' },
];
const OCCUPATIONS = ['Teacher', 'Nurse', 'Electrician', 'Student', 'Accountant', 'Retired', 'Chef', 'Developer', ''];
const GENDERS = ['Female', 'Male', 'Non-binary', null, null];
const PATIENT_NOTES = [null, null, 'Prefers afternoon appointments.', 'Referred by GP.', 'Runner, left knee.'];
const APPOINTMENT_NOTES = [null, null, null, 'Follow-up in 2 weeks.', 'Bring previous scans.', 'First visit.'];
const GROUP_NOTES = ['Clinical pilates', 'Hydrotherapy group', 'Pre-natal class', 'Back care class', null];
const CONTACT_KINDS = [
  { type: 'Standard', type_code: 0, doctor_type: null, company: '' },
  { type: 'Doctor', type_code: 1, doctor_type: 'general_practitioner', company: 'City Medical Centre' },
  { type: 'Doctor', type_code: 1, doctor_type: 'specialist', company: 'Orthopaedic Associates' },
];

// A small clinic: related resources the simulator links to but does not serve.
const PRACTITIONER_IDS = ['68247118367917570', '68247118367917571', '68247118367917578'];
const BUSINESS_IDS = ['68247117860406273'];
const APPOINTMENT_TYPES = [
  { id: '68247118510523921', minutes: 30 },
  { id: '68247118510523922', minutes: 45 },
  { id: '68247118510523923', minutes: 60 },
];

const DAY_MS = 86_400_000;

/** Existing records a generated record may link to. */
export interface GenerateContext extends ShapeContext {
  rng: Prng;
  /** API base for link URLs, e.g. `https://api.au1.cliniko.com/v1`. */
  base: string;
  nowMs: number;
  /** A random live patient, or undefined when there is none. */
  pickPatient(): SimRecord | undefined;
  /** A random live appointment to attend, group appointments first. */
  pickBooking(): SimRecord | undefined;
}

/** Random realistic fields for a new record created at `createdMs`. */
export function randomFields(resource: SimResource, ctx: GenerateContext, createdMs: number): Record<string, unknown> {
  switch (resource) {
    case 'patients':
      return randomPerson(ctx, true);
    case 'contacts':
      return randomContact(ctx);
    case 'individual_appointments':
      return randomIndividualAppointment(ctx, createdMs);
    case 'group_appointments':
      return randomGroupAppointment(ctx, createdMs);
    case 'attendees':
      return randomAttendee(ctx);
    default:
      return SHAPES[resource]?.random(ctx, createdMs) ?? {};
  }
}

/** A link to a live record of `resource`, or to one of the fixed ids when the account has none. */
function linkOr(ctx: GenerateContext, resource: SimResource, fallback: readonly string[]): { links: { self: string } } {
  const live = ctx.pickLive(resource);
  // No PRNG draw for a single fallback, so accounts without these records generate as before.
  const id = live ? live.id : fallback.length === 1 ? (fallback[0] as string) : ctx.rng.pick(fallback);
  return linkTo(ctx.base, resource, id);
}

function randomPerson(ctx: GenerateContext, patient: boolean): Record<string, unknown> {
  const { rng } = ctx;
  const first_name = rng.pick(FIRST_NAMES);
  const last_name = rng.pick(LAST_NAMES);
  const place = rng.pick(PLACES);
  const fields: Record<string, unknown> = {
    first_name,
    last_name,
    email: email(first_name, last_name, rng),
    phone_numbers: randomPhones(rng),
    address_1: `${rng.int(1, 250)} ${rng.pick(STREETS)}`,
    city: place.city,
    state: place.state,
    post_code: place.post_code,
    country: 'Australia',
    country_code: 'AU',
    occupation: rng.pick(OCCUPATIONS),
  };
  if (patient) {
    const year = rng.int(1940, 2018);
    fields.date_of_birth = `${year}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}`;
    fields.gender_identity = rng.pick(GENDERS);
    fields.notes = rng.pick(PATIENT_NOTES);
    fields.title = '';
  }
  return fields;
}

function randomContact(ctx: GenerateContext): Record<string, unknown> {
  const kind = ctx.rng.pick(CONTACT_KINDS);
  return Object.assign(randomPerson(ctx, false), {
    title: kind.type_code === 1 ? 'Dr' : '',
    company_name: kind.company,
    type: kind.type,
    type_code: kind.type_code,
    doctor_type: kind.doctor_type,
    provider_number: kind.type_code === 1 ? `${ctx.rng.int(1000000, 9999999)}A` : '',
  });
}

function randomIndividualAppointment(ctx: GenerateContext, createdMs: number): Record<string, unknown> {
  const { rng, base } = ctx;
  const type = rng.pick(APPOINTMENT_TYPES);
  const startsMs = appointmentStart(rng, createdMs);
  const patient = ctx.pickPatient();
  const past = startsMs < ctx.nowMs;
  const didNotArrive = past && rng.chance(0.08);
  return {
    starts_at: toIsoSeconds(startsMs),
    ends_at: toIsoSeconds(startsMs + type.minutes * 60_000),
    notes: rng.pick(APPOINTMENT_NOTES),
    patient: patient ? linkTo(base, 'patients', patient.id) : null,
    patient_name: patient ? `${String(patient.first_name)} ${String(patient.last_name)}` : null,
    practitioner: linkOr(ctx, 'practitioners', PRACTITIONER_IDS),
    business: linkOr(ctx, 'businesses', BUSINESS_IDS),
    appointment_type: linkOr(ctx, 'appointment_types', [type.id]),
    did_not_arrive: didNotArrive,
    patient_arrived: past && !didNotArrive,
    email_reminder_sent: past,
    sms_reminder_sent: past && rng.chance(0.7),
    online_booking_policy_accepted: rng.chance(0.3) ? true : null,
    booking_ip_address: rng.chance(0.3) ? `10.0.${rng.int(0, 255)}.${rng.int(1, 254)}` : null,
  };
}

function randomGroupAppointment(ctx: GenerateContext, createdMs: number): Record<string, unknown> {
  const { rng } = ctx;
  const type = rng.pick(APPOINTMENT_TYPES);
  const startsMs = appointmentStart(rng, createdMs);
  return {
    starts_at: toIsoSeconds(startsMs),
    ends_at: toIsoSeconds(startsMs + type.minutes * 60_000),
    max_attendees: rng.int(4, 12),
    notes: rng.pick(GROUP_NOTES),
    practitioner: linkOr(ctx, 'practitioners', PRACTITIONER_IDS),
    business: linkOr(ctx, 'businesses', BUSINESS_IDS),
    appointment_type: linkOr(ctx, 'appointment_types', [type.id]),
  };
}

function randomAttendee(ctx: GenerateContext): Record<string, unknown> {
  const { rng, base } = ctx;
  const booking = ctx.pickBooking();
  const patient = ctx.pickPatient();
  const past = booking !== undefined && Date.parse(String(booking.starts_at)) < ctx.nowMs;
  return {
    booking: booking ? linkTo(base, 'bookings', booking.id) : null,
    patient: patient ? linkTo(base, 'patients', patient.id) : null,
    arrived: past ? rng.chance(0.9) : null,
    email_reminder_sent: past,
    sms_reminder_sent: past && rng.chance(0.7),
    notes: rng.chance(0.2) ? 'Bring a towel.' : null,
  };
}

/**
 * One realistic edit of an existing record, as a receptionist or practitioner would make it
 * (used by the demo's churn). Returns write fields for `update`.
 */
export function randomPatch(resource: SimResource, record: SimRecord, ctx: GenerateContext): Record<string, unknown> {
  const { rng } = ctx;
  switch (resource) {
    case 'patients':
    case 'contacts':
      switch (rng.int(0, 3)) {
        case 0:
          return { phone_numbers: randomPhones(rng) };
        case 1:
          return { email: email(String(record.first_name), String(record.last_name), rng) };
        case 2: {
          const place = rng.pick(PLACES);
          return { address_1: `${rng.int(1, 250)} ${rng.pick(STREETS)}`, ...place };
        }
        default:
          return { notes: `Updated ${toIsoSeconds(ctx.nowMs).slice(0, 10)}.` };
      }
    case 'individual_appointments': {
      const choice = rng.int(0, 2);
      if (choice === 0) return { patient_arrived: true, did_not_arrive: false };
      if (choice === 1) return { did_not_arrive: true, patient_arrived: false };
      const startsMs = appointmentStart(rng, ctx.nowMs);
      const minutes = (Date.parse(String(record.ends_at)) - Date.parse(String(record.starts_at))) / 60_000 || 30;
      return { starts_at: toIsoSeconds(startsMs), ends_at: toIsoSeconds(startsMs + minutes * 60_000) };
    }
    case 'group_appointments':
      return rng.chance(0.5) ? { max_attendees: rng.int(4, 12) } : { notes: rng.pick(GROUP_NOTES) };
    case 'attendees': {
      const roll = rng.next();
      return roll < 0.6 ? { arrived: true } : roll < 0.75 ? { arrived: false } : { notes: 'Running late.' };
    }
    default:
      return SHAPES[resource]?.patch(record, ctx) ?? {};
  }
}

/** A random cancellation reason code (Cliniko API docs). */
export function randomCancellationReason(rng: Prng): number {
  return Number(rng.pick(Object.keys(CANCELLATION_REASONS)));
}

// Business hours in Australia (22:00–07:00 UTC), 15-minute slots, up to six weeks after booking.
function appointmentStart(rng: Prng, fromMs: number): number {
  const day = Math.floor(fromMs / DAY_MS) + rng.int(1, 42);
  const minutes = rng.pick([22 * 60, 23 * 60, 0, 60, 120, 180, 240, 300, 360]) + rng.pick([0, 15, 30, 45]);
  return day * DAY_MS + minutes * 60_000;
}

function randomPhones(rng: Prng): Array<{ number: string; phone_type: string }> {
  const phones = [{ number: `04${rng.int(10, 99)} ${rng.int(100, 999)} ${rng.int(100, 999)}`, phone_type: 'Mobile' }];
  if (rng.chance(0.3)) phones.push({ number: `02 ${rng.int(9000, 9999)} ${rng.int(1000, 9999)}`, phone_type: 'Home' });
  return phones;
}

function email(first: string, last: string, rng: Prng): string {
  const local = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '');
  return `${local}${rng.int(1, 99)}@example.com`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

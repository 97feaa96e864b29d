import type { Prng } from './prng.js';
import type { SimResource } from './resources.js';
import { toIsoSeconds } from './time.js';

/**
 * Record shapes of the resources beyond the first five (records.ts): their create-time defaults
 * (field lists from the API docs' example responses), realistic random values, and the edits a
 * clinic makes to them. Related records are linked when the account has some, else to a small
 * fixed clinic (the ids generate.ts uses).
 */

type Rec = Record<string, unknown> & { id: string; created_at: string; updated_at: string };

/** What a shape may look at while generating: the PRNG, the clock and existing records. */
export interface ShapeContext {
  rng: Prng;
  base: string;
  nowMs: number;
  /** A random live record of a resource, or undefined when there is none. */
  pickLive(resource: SimResource): Rec | undefined;
  /** How many rows the resource has (live or not). */
  count(resource: SimResource): number;
}

export interface Shape {
  blank(id: string, at: string, self: string): Rec;
  random(ctx: ShapeContext, createdMs: number): Record<string, unknown>;
  /** One realistic edit of an existing record (write fields). */
  patch(record: Rec, ctx: ShapeContext): Record<string, unknown>;
}

const DAY_MS = 86_400_000;
const links = (self: string) => ({ links: { self } });
const to = (ctx: ShapeContext, collection: string, id: string) => links(`${ctx.base}/${collection}/${id}`);
const money = (n: number) => `${n.toFixed(2).replace(/0$/, '')}`;

// The fixed clinic generate.ts links to when the account has no such records.
const FALLBACK: Partial<Record<SimResource, readonly string[]>> = {
  practitioners: ['68247118367917570', '68247118367917571', '68247118367917578'],
  businesses: ['68247117860406273'],
  appointment_types: ['68247118510523921', '68247118510523922', '68247118510523923'],
  users: ['68247118367917001', '68247118367917002'],
  billable_items: ['68247118600000001', '68247118600000002'],
  products: ['68247118700000001'],
  concession_types: ['68247118800000001'],
};

/** A link to a live record of `resource`, a fallback id, or null when neither exists. */
function linkSome(ctx: ShapeContext, resource: SimResource): { links: { self: string } } | null {
  const live = ctx.pickLive(resource);
  if (live) return to(ctx, resource, live.id);
  const ids = FALLBACK[resource];
  return ids ? to(ctx, resource, ctx.rng.pick(ids)) : null;
}

const PRACTITIONER_NAMES = [
  ['Dr', 'Maya', 'Patel', 'Physiotherapist'],
  ['', 'Tom', 'Nguyen', 'Osteopath'],
  ['Dr', 'Grace', 'Kelly', 'Chiropractor'],
  ['', 'Liam', 'Walker', 'Massage Therapist'],
  ['', 'Aroha', 'Ngata', 'Podiatrist'],
] as const;
const APPOINTMENT_TYPE_NAMES = [
  ['Initial Consultation', 60, '#7D69F5'],
  ['Standard Consultation', 30, '#3FA9F5'],
  ['Follow-up', 30, '#7AC943'],
  ['Clinical Pilates Class', 60, '#FF931E'],
  ['Telehealth Review', 20, '#FF7BAC'],
] as const;
const PRODUCTS = [
  ['Foam roller', 'FR-01', 39.95],
  ['Theraband (medium)', 'TB-M', 12.5],
  ['Heat pack', 'HP-02', 24.0],
  ['Knee brace', 'KB-L', 59.0],
  ['Magnesium cream', 'MG-100', 18.5],
] as const;
const ALERTS = ['Allergic to latex', 'Penicillin allergy', 'Pacemaker fitted', 'Type 1 diabetes', 'Pregnant', 'Blood thinners'];
const FORMS = ['New Patient Intake', 'Consent to Treatment', 'Telehealth Consent', 'COVID-19 Screening'];
const FILES = [
  ['text/plain', 'referral-letter.txt'],
  ['application/pdf', 'mri-report.pdf'],
  ['image/jpeg', 'posture-photo.jpg'],
] as const;
const MEMOS = ['Called to confirm appointment.', 'Left voicemail about invoice.', 'Patient asked for a receipt.', 'Reminder sent.'];
const RELATIONSHIPS = ['Parent', 'Guardian', 'Partner', 'Child', 'Carer'];
const REFERRALS = ['Google', 'Friend or family', 'GP referral', 'Instagram', 'Walk-in'];

/** Business hours in Australia (UTC 22:00–07:00), like generate.ts. */
/**
 * A practitioner's block at a business, from a slot after `createdMs` (availability and
 * unavailable blocks): `minutes` long, with `more` fields. Values are drawn in field order, so a
 * seed generates the same blocks as before this helper existed.
 */
function timeBlock(
  ctx: ShapeContext,
  createdMs: number,
  minutes: () => number,
  more: () => Record<string, unknown> = () => ({}),
): Record<string, unknown> {
  const startsMs = slot(ctx.rng, createdMs);
  return {
    starts_at: toIsoSeconds(startsMs),
    ends_at: toIsoSeconds(startsMs + minutes() * 60_000),
    ...more(),
    practitioner: linkSome(ctx, 'practitioners'),
    business: linkSome(ctx, 'businesses'),
  };
}

/** A block's edit: it ends half an hour later. */
function endsLater(r: Rec): Record<string, unknown> {
  return { ends_at: toIsoSeconds(Date.parse(String(r.ends_at)) + 30 * 60_000) };
}

function slot(rng: Prng, fromMs: number): number {
  const day = Math.floor(fromMs / DAY_MS) + rng.int(1, 42);
  return day * DAY_MS + rng.pick([22 * 60, 23 * 60, 0, 60, 120, 180, 240, 300]) * 60_000;
}

function note(rng: Prng): Record<string, unknown> {
  return {
    sections: [
      {
        name: 'Subjective',
        questions: [
          {
            name: 'Presenting complaint',
            type: 'paragraph',
            answer: rng.pick(['Lower back pain, 3 weeks.', 'Right knee pain after running.', 'Neck stiffness.']),
          },
        ],
      },
      {
        name: 'Plan',
        questions: [
          { name: 'Treatment', type: 'text', answer: rng.pick(['Soft tissue, mobilisation.', 'Exercise program.', 'Review in 2 weeks.']) },
        ],
      },
    ],
  };
}

export const SHAPES: Partial<Record<SimResource, Shape>> = {
  invoices: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        appointment: null,
        archived_at: null,
        business: null,
        closed_at: null,
        deleted_at: null,
        discounted_amount: '0.0',
        invoice_items: links(`${self}/invoice_items`),
        invoice_to: null,
        issue_date: at.slice(0, 10),
        net_amount: '0.0',
        notes: null,
        number: null,
        patient: null,
        patient_extra_information: null,
        practitioner: null,
        status: 10,
        status_description: 'Open',
        tax_amount: '0.0',
        total_amount: '0.0',
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) => {
      const total = ctx.rng.pick([65, 85, 95, 120, 150]);
      const paid = createdMs < ctx.nowMs - DAY_MS && ctx.rng.chance(0.8);
      const patient = ctx.pickLive('patients');
      const appointment = ctx.pickLive('individual_appointments');
      return {
        appointment: appointment ? to(ctx, 'individual_appointments', appointment.id) : null,
        business: linkSome(ctx, 'businesses'),
        practitioner: linkSome(ctx, 'practitioners'),
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        invoice_to: patient ? `${String(patient.first_name)} ${String(patient.last_name)}` : null,
        issue_date: toIsoSeconds(createdMs).slice(0, 10),
        number: ctx.count('invoices') + 1001,
        total_amount: money(total),
        net_amount: money(total / 1.1),
        tax_amount: money(total - total / 1.1),
        status: paid ? 20 : 10,
        status_description: paid ? 'Paid' : 'Open',
        closed_at: paid ? toIsoSeconds(createdMs + 3_600_000) : null,
      };
    },
    patch: (r, ctx) =>
      r.status === 10
        ? { status: 20, status_description: 'Paid', closed_at: toIsoSeconds(ctx.nowMs) }
        : { notes: ctx.rng.pick(['Paid by card.', 'Claimed through HICAPS.', 'Receipt emailed.']) },
  },
  invoice_items: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        billable_item: null,
        code: '',
        concession_type_name: '',
        deleted_at: null,
        discount_percentage: '0.0',
        discounted_amount: '0.0',
        invoice: null,
        is_monetary_discount: false,
        name: '',
        net_price: '0.0',
        product: null,
        quantity: 1,
        tax_amount: '0.0',
        tax_name: '',
        total_including_tax: '0.0',
        unit_price: '0.0',
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const invoice = ctx.pickLive('invoices');
      const price = ctx.rng.pick([65, 85, 95, 120]);
      return {
        invoice: invoice ? to(ctx, 'invoices', invoice.id) : null,
        billable_item: linkSome(ctx, 'billable_items'),
        name: ctx.rng.pick(['Initial consultation', 'Standard consultation', 'Follow-up']),
        code: String(ctx.rng.int(2000, 2099)),
        unit_price: money(price),
        net_price: money(price / 1.1),
        tax_amount: money(price - price / 1.1),
        tax_name: 'GST',
        total_including_tax: money(price),
      };
    },
    patch: (r, ctx) => ({ quantity: Number(r.quantity ?? 1) + 1, discount_percentage: money(ctx.rng.pick([0, 10, 15])) }),
  },
  treatment_notes: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        author_name: '',
        booking: null,
        content: null,
        deleted_at: null,
        draft: true,
        patient: null,
        practitioner: null,
        title: '',
        treatment_note_template: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) => {
      const patient = ctx.pickLive('patients');
      const name = ctx.rng.pick(PRACTITIONER_NAMES);
      return {
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        practitioner: linkSome(ctx, 'practitioners'),
        author_name: `${name[1]} ${name[2]}`,
        title: ctx.rng.pick(['Standard Consultation', 'Initial Assessment', 'Review']),
        content: note(ctx.rng),
        draft: createdMs > ctx.nowMs - DAY_MS && ctx.rng.chance(0.5),
      };
    },
    patch: (r, ctx) => (r.draft === true ? { draft: false } : { content: note(ctx.rng) }),
  },
  practitioners: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        active: true,
        default_appointment_type: null,
        description: '',
        designation: '',
        display_name: '',
        first_name: '',
        label: '',
        last_name: '',
        show_in_online_bookings: false,
        title: '',
        user: null,
        appointments: links(`${self}/appointments`),
        invoices: links(`${self}/invoices`),
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const [title, first, last, designation] = ctx.rng.pick(PRACTITIONER_NAMES);
      return {
        title,
        first_name: first,
        last_name: last,
        designation,
        display_name: `${title ? `${title} ` : ''}${first} ${last}`,
        label: designation,
        show_in_online_bookings: ctx.rng.chance(0.8),
        user: linkSome(ctx, 'users'),
        default_appointment_type: linkSome(ctx, 'appointment_types'),
      };
    },
    patch: (r, ctx) =>
      ctx.rng.chance(0.2) ? { active: r.active === false } : { show_in_online_bookings: r.show_in_online_bookings !== true },
  },
  businesses: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        additional_information: null,
        address_1: '',
        address_2: '',
        archived_at: null,
        business_name: '',
        city: '',
        contact_information: null,
        country: '',
        country_code: null,
        display_name: '',
        email_reply_to: null,
        label: '',
        post_code: '',
        show_in_online_bookings: false,
        state: '',
        time_zone: 'Australia/Melbourne',
        website_address: null,
        appointment_types: links(`${self}/appointment_types`),
        practitioners: links(`${self}/practitioners`),
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const name = ctx.rng.pick(['Fitzroy Physio', 'Harbour Health', 'Northside Osteopathy', 'City Sports Clinic']);
      return {
        business_name: name,
        display_name: name,
        label: name.split(' ')[0],
        address_1: `${ctx.rng.int(1, 300)} Brunswick St`,
        city: 'Fitzroy',
        state: 'VIC',
        post_code: '3065',
        country: 'Australia',
        country_code: 'AU',
        show_in_online_bookings: true,
        website_address: 'https://clinic.example.com',
      };
    },
    patch: (_r, ctx) => ({ contact_information: `Ph 03 9${ctx.rng.int(100, 999)} ${ctx.rng.int(1000, 9999)}` }),
  },
  appointment_types: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        billable_item: null,
        category: null,
        color: '#7D69F5',
        deposit_price: null,
        description: null,
        duration_in_minutes: 30,
        max_attendees: 1,
        name: '',
        online_bookings_enabled: false,
        show_in_online_bookings: false,
        telehealth_enabled: false,
        practitioners: links(`${self}/practitioners`),
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const [name, minutes, color] = ctx.rng.pick(APPOINTMENT_TYPE_NAMES);
      return {
        name,
        duration_in_minutes: minutes,
        color,
        category: 'Physiotherapy',
        max_attendees: name.includes('Class') ? 8 : 1,
        online_bookings_enabled: true,
        show_in_online_bookings: true,
        billable_item: linkSome(ctx, 'billable_items'),
      };
    },
    patch: (r) => ({ duration_in_minutes: Number(r.duration_in_minutes ?? 30) === 30 ? 45 : 30 }),
  },
  products: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        cost_price: null,
        item_code: '',
        name: '',
        notes: null,
        price: '0.0',
        product_supplier_name: null,
        serial_number: null,
        stock_level: 0,
        tax: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const [name, code, price] = ctx.rng.pick(PRODUCTS);
      return {
        name,
        item_code: code,
        price: money(price),
        cost_price: money(price / 2),
        stock_level: ctx.rng.int(0, 40),
        product_supplier_name: 'Allied Supplies',
      };
    },
    patch: (r, ctx) => ({ stock_level: Math.max(0, Number(r.stock_level ?? 0) + ctx.rng.int(-3, 10)) }),
  },
  patient_cases: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        attendee_ids: [],
        closed: false,
        expiry_date: null,
        include_cancelled_attendees: null,
        include_dna_attendees: null,
        issue_date: null,
        max_invoiceable_amount: null,
        max_sessions: null,
        name: '',
        notes: null,
        referral: false,
        referral_type: null,
        patient: null,
        attendees: links(`${self}/attendees`),
        bookings: links(`${self}/bookings`),
        invoices: links(`${self}/invoices`),
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) => {
      const patient = ctx.pickLive('patients');
      return {
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        name: ctx.rng.pick(['Workcover claim', 'Medicare EPC', 'TAC claim', 'Private health plan']),
        issue_date: toIsoSeconds(createdMs).slice(0, 10),
        expiry_date: toIsoSeconds(createdMs + 365 * DAY_MS).slice(0, 10),
        max_sessions: ctx.rng.pick([5, 10, 12]),
        referral: ctx.rng.chance(0.3),
      };
    },
    patch: (r) => ({ closed: r.closed !== true }),
  },
  medical_alerts: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        deleted_at: null,
        name: '',
        patient: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const patient = ctx.pickLive('patients');
      return { name: ctx.rng.pick(ALERTS), patient: patient ? to(ctx, 'patients', patient.id) : null };
    },
    patch: (_r, ctx) => ({ name: ctx.rng.pick(ALERTS) }),
  },
  unavailable_blocks: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        business: null,
        conflicts: links(`${self}/conflicts`),
        deleted_at: null,
        ends_at: at,
        notes: null,
        practitioner: null,
        repeat_rule: {},
        repeated_from: null,
        repeats: null,
        starts_at: at,
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) =>
      timeBlock(
        ctx,
        createdMs,
        () => ctx.rng.pick([60, 120, 240]),
        () => ({ notes: ctx.rng.pick(['Team meeting', 'Leave', 'Admin time', null]) }),
      ),
    patch: endsLater,
  },
  availability_blocks: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        business: null,
        ends_at: at,
        practitioner: null,
        repeat_rule: {},
        starts_at: at,
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) => timeBlock(ctx, createdMs, () => 120),
    patch: endsLater,
  },
  daily_availabilities: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        availabilities: [],
        business: null,
        day_of_week: 1,
        practitioner: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => ({
      day_of_week: ctx.rng.int(1, 5),
      availabilities: [
        { starts_at: '09:00', ends_at: '13:00' },
        { starts_at: '14:00', ends_at: ctx.rng.pick(['17:00', '18:30']) },
      ],
      practitioner: linkSome(ctx, 'practitioners'),
      business: linkSome(ctx, 'businesses'),
    }),
    patch: (_r, ctx) => ({ availabilities: [{ starts_at: ctx.rng.pick(['08:00', '09:00']), ends_at: '17:00' }] }),
  },
  communications: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        category: 'Memos',
        category_code: 12,
        confidential: false,
        content: '',
        content_subject: null,
        deleted_at: null,
        direction_code: 2,
        direction_description: 'Received',
        from: null,
        patient: null,
        to: null,
        type: 'Other',
        type_code: 4,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const patient = ctx.pickLive('patients');
      const sms = ctx.rng.chance(0.5);
      return {
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        category: sms ? 'Appointment reminder' : 'Memos',
        category_code: sms ? 1 : 12,
        type: sms ? 'SMS' : 'Phone call',
        type_code: sms ? 1 : 3,
        direction_code: 1,
        direction_description: 'Sent',
        content: sms ? 'Reminder: your appointment is tomorrow.' : ctx.rng.pick(MEMOS),
        to: patient ? `${String(patient.first_name)} ${String(patient.last_name)}` : null,
      };
    },
    patch: (_r, ctx) => ({ content: ctx.rng.pick(MEMOS) }),
  },
  users: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        email: '',
        first_name: '',
        last_name: '',
        role: 'receptionist',
        time_zone: 'Australia/Melbourne',
        title: '',
        user_active: true,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const [, first, last] = ctx.rng.pick(PRACTITIONER_NAMES);
      return {
        first_name: first,
        last_name: last,
        email: `${first.toLowerCase()}@clinic.example.com`,
        role: ctx.rng.pick(['practitioner', 'receptionist', 'administrator']),
      };
    },
    patch: (r) => ({ user_active: r.user_active === false }),
  },
  billable_items: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        item_code: '',
        item_type: 'Service',
        name: '',
        price: '0.0',
        tax: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => ({
      name: ctx.rng.pick(['Initial consultation', 'Standard consultation', 'Class pass']),
      item_code: String(ctx.rng.int(2000, 2099)),
      price: money(ctx.rng.pick([65, 85, 120])),
    }),
    patch: (r) => ({ price: money(Number(r.price ?? 0) + 5) }),
  },
  concession_types: {
    blank: (id, at, self) => ({ id, created_at: at, updated_at: at, name: '', links: links(self).links }) as Rec,
    random: (ctx) => ({ name: ctx.rng.pick(['Pensioner', 'Student', 'Health care card', 'Staff']) }),
    patch: (r) => ({ name: `${String(r.name)} (updated)` }),
  },
  concession_prices: {
    blank: (id, at, self) =>
      ({ id, created_at: at, updated_at: at, billable_item: null, concession_type: null, price: '0.0', links: links(self).links }) as Rec,
    random: (ctx) => ({
      billable_item: linkSome(ctx, 'billable_items'),
      concession_type: linkSome(ctx, 'concession_types'),
      price: money(ctx.rng.pick([45, 55, 70])),
    }),
    patch: (r) => ({ price: money(Number(r.price ?? 0) + 5) }),
  },
  taxes: {
    blank: (id, at, self) => ({ id, created_at: at, updated_at: at, amount: '0.0', name: '', links: links(self).links }) as Rec,
    random: (ctx) =>
      ctx.rng.pick([
        { name: 'GST', amount: '10.0' },
        { name: 'VAT', amount: '20.0' },
        { name: 'No tax', amount: '0.0' },
      ]),
    patch: (r) => ({ amount: r.amount === '10.0' ? '15.0' : '10.0' }),
  },
  services: {
    blank: (id, at, self) =>
      ({ id, created_at: at, updated_at: at, appointment_type: null, business: null, practitioners: [], links: links(self).links }) as Rec,
    random: (ctx) => ({
      appointment_type: linkSome(ctx, 'appointment_types'),
      business: linkSome(ctx, 'businesses'),
      practitioners: [linkSome(ctx, 'practitioners')].filter(Boolean),
    }),
    patch: (_r, ctx) => ({ practitioners: [linkSome(ctx, 'practitioners'), linkSome(ctx, 'practitioners')].filter(Boolean) }),
  },
  stock_adjustments: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        adjustment_type: 'Other',
        comment: null,
        product: null,
        quantity: 0,
        user: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const sold = ctx.rng.chance(0.7);
      return {
        adjustment_type: sold ? 'Item Sold' : 'Stock Purchase',
        quantity: sold ? -ctx.rng.int(1, 2) : ctx.rng.int(5, 20),
        product: linkSome(ctx, 'products'),
        user: linkSome(ctx, 'users'),
      };
    },
    patch: (_r, ctx) => ({ comment: ctx.rng.pick(['Counted', 'Corrected']) }),
  },
  patient_forms: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        attendee: null,
        booking: null,
        completed_at: null,
        content: null,
        name: '',
        patient: null,
        restricted_to_practitioner: false,
        signatures: null,
        url: '',
        links: links(self).links,
      }) as Rec,
    random: (ctx, createdMs) => {
      const patient = ctx.pickLive('patients');
      const done = createdMs < ctx.nowMs - DAY_MS && ctx.rng.chance(0.7);
      return {
        name: ctx.rng.pick(FORMS),
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        url: `https://clinic.cliniko.com/f/?${ctx.rng.int(1e8, 9e8)}`,
        completed_at: done ? toIsoSeconds(createdMs + 3 * 3_600_000) : null,
        content: {
          sections: [
            {
              name: 'Medical History',
              questions: [
                {
                  name: 'Please describe your medical history.',
                  type: 'paragraph',
                  required: true,
                  ...(done ? { answer: 'Nothing notable.' } : {}),
                },
              ],
            },
          ],
        },
      };
    },
    patch: (r, ctx) =>
      r.completed_at == null
        ? { completed_at: toIsoSeconds(ctx.nowMs) }
        : { restricted_to_practitioner: r.restricted_to_practitioner !== true },
  },
  patient_attachments: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        content: links(`${self}/content`),
        content_type: null,
        description: null,
        filename: null,
        patient: null,
        processing_completed: false,
        size: null,
        user: null,
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const [type, name] = ctx.rng.pick(FILES);
      const patient = ctx.pickLive('patients');
      return {
        content_type: type,
        filename: name,
        size: ctx.rng.int(2_000, 900_000),
        processing_completed: true,
        patient: patient ? to(ctx, 'patients', patient.id) : null,
        user: linkSome(ctx, 'users'),
      };
    },
    patch: (_r, ctx) => ({ description: ctx.rng.pick(['Scanned referral', 'Imaging report', null]) }),
  },
  referral_source_types: {
    blank: (id, at, self) => ({ id, created_at: at, updated_at: at, name: '', subcategories: [], links: links(self).links }) as Rec,
    random: (ctx) => ({ name: ctx.rng.pick(REFERRALS) }),
    patch: (r) => ({ name: `${String(r.name)}!` }),
  },
  relationships: {
    blank: (id, at, self) =>
      ({
        id,
        created_at: at,
        updated_at: at,
        archived_at: null,
        patient: null,
        related_patient: null,
        relationship_type: '',
        links: links(self).links,
      }) as Rec,
    random: (ctx) => {
      const a = ctx.pickLive('patients');
      const b = ctx.pickLive('patients');
      return {
        relationship_type: ctx.rng.pick(RELATIONSHIPS),
        patient: a ? to(ctx, 'patients', a.id) : null,
        related_patient: b ? to(ctx, 'patients', b.id) : null,
      };
    },
    patch: (_r, ctx) => ({ relationship_type: ctx.rng.pick(RELATIONSHIPS) }),
  },
};

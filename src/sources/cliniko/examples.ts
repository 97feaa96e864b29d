/**
 * One example record per resource for the event catalogue (`GET /v1/event-types`, README): the
 * fields people automate on, in Cliniko's shapes (string ids, whole-second UTC times, links). Real
 * records carry more fields; events carry the record as Cliniko returned it.
 */

const API = 'https://api.au1.cliniko.com/v1';
const link = (collection: string, id: string) => ({ links: { self: `${API}/${collection}/${id}` } });
const CREATED = '2026-11-20T01:02:03Z';
const UPDATED = '2026-11-23T06:50:00Z';

const PATIENT = link('patients', '1000000000000000311');
const PRACTITIONER = link('practitioners', '68247118367917570');
const BUSINESS = link('businesses', '68247117860406273');
const APPOINTMENT_TYPE = link('appointment_types', '68247118510523921');

function record(collection: string, id: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { id, created_at: CREATED, updated_at: UPDATED, ...fields, links: { self: `${API}/${collection}/${id}` } };
}

export const CLINIKO_EXAMPLES: Readonly<Record<string, Record<string, unknown>>> = {
  patients: record('patients', '1000000000000000311', {
    first_name: 'Ada', last_name: 'Lovelace', email: 'ada.lovelace@example.com', date_of_birth: '1985-12-10',
    phone_numbers: [{ number: '0412 345 678', phone_type: 'Mobile' }], archived_at: null, deleted_at: null, merged_at: null, merged_with_patient: null,
  }),
  contacts: record('contacts', '1000000000000000287', {
    title: 'Dr', first_name: 'Jon', last_name: 'Bode', company_name: 'City Medical Centre', type: 'Doctor', type_code: 1,
    archived_at: null, deleted_at: null,
  }),
  attendees: record('attendees', '1000000000000000533', {
    arrived: null, cancelled_at: null, cancellation_reason: null, cancellation_note: null, archived_at: null, deleted_at: null,
    booking: link('bookings', '1000000000000000520'), patient: PATIENT,
  }),
  individual_appointments: record('individual_appointments', '1000000000000000498', {
    starts_at: '2026-11-24T23:00:00Z', ends_at: '2026-11-24T23:30:00Z', patient_name: 'Ada Lovelace', notes: null,
    did_not_arrive: false, patient_arrived: false, cancelled_at: null, cancellation_reason: null, cancellation_note: null,
    archived_at: null, deleted_at: null, patient: PATIENT, practitioner: PRACTITIONER, business: BUSINESS, appointment_type: APPOINTMENT_TYPE,
  }),
  group_appointments: record('group_appointments', '1000000000000000520', {
    starts_at: '2026-11-25T00:00:00Z', ends_at: '2026-11-25T01:00:00Z', max_attendees: 8, notes: 'Clinical pilates',
    archived_at: null, deleted_at: null, practitioner: PRACTITIONER, business: BUSINESS, appointment_type: APPOINTMENT_TYPE,
  }),
  bookings: record('bookings', '1000000000000000498', {
    starts_at: '2026-11-24T23:00:00Z', ends_at: '2026-11-24T23:30:00Z', patient_name: 'Ada Lovelace', did_not_arrive: false,
    patient_arrived: false, cancelled_at: null, archived_at: null, deleted_at: null, patient: PATIENT, practitioner: PRACTITIONER, business: BUSINESS,
  }),
  invoices: record('invoices', '1000000000000000604', {
    number: 1042, issue_date: '2026-11-23', status: 10, status_description: 'Open', total_amount: '95.0', tax_amount: '8.64',
    net_amount: '86.36', closed_at: null, archived_at: null, deleted_at: null, patient: PATIENT, practitioner: PRACTITIONER, business: BUSINESS,
  }),
  invoice_items: record('invoice_items', '1000000000000000611', {
    name: 'Standard consultation', code: '2020', quantity: 1, unit_price: '95.0', tax_name: 'GST', total_including_tax: '95.0',
    deleted_at: null, invoice: link('invoices', '1000000000000000604'),
  }),
  treatment_notes: record('treatment_notes', '1000000000000000640', {
    title: 'Standard Consultation', draft: true, author_name: 'Maya Patel', archived_at: null, deleted_at: null,
    patient: PATIENT, practitioner: PRACTITIONER,
  }),
  medical_alerts: record('medical_alerts', '1000000000000000655', { name: 'Penicillin allergy', archived_at: null, deleted_at: null, patient: PATIENT }),
  patient_cases: record('patient_cases', '1000000000000000662', {
    name: 'Workcover claim', closed: false, issue_date: '2026-11-20', expiry_date: '2027-11-19', max_sessions: 10, archived_at: null, patient: PATIENT,
  }),
  patient_forms: record('patient_forms', '1000000000000000670', {
    name: 'New Patient Intake', completed_at: null, url: 'https://clinic.cliniko.com/f/?0QbE1ZP7gp', archived_at: null, patient: PATIENT,
  }),
  patient_attachments: record('patient_attachments', '1000000000000000677', {
    filename: 'referral-letter.pdf', content_type: 'application/pdf', size: 148_112, description: null, archived_at: null, patient: PATIENT,
  }),
  communications: record('communications', '1000000000000000681', {
    category: 'Appointment reminder', category_code: 1, type: 'SMS', type_code: 1, direction_description: 'Sent',
    content: 'Reminder: your appointment is tomorrow at 10:00.', archived_at: null, deleted_at: null, patient: PATIENT,
  }),
  unavailable_blocks: record('unavailable_blocks', '1000000000000000690', {
    starts_at: '2026-11-26T02:00:00Z', ends_at: '2026-11-26T03:00:00Z', notes: 'Team meeting', archived_at: null, deleted_at: null,
    practitioner: PRACTITIONER, business: BUSINESS,
  }),
  stock_adjustments: record('stock_adjustments', '1000000000000000702', {
    adjustment_type: 'Item Sold', quantity: -1, comment: null, product: link('products', '1000000000000000044'),
  }),
  relationships: record('relationships', '1000000000000000709', {
    relationship_type: 'Parent', archived_at: null, patient: PATIENT, related_patient: link('patients', '1000000000000000318'),
  }),
  practitioners: record('practitioners', '68247118367917570', {
    title: 'Dr', first_name: 'Maya', last_name: 'Patel', designation: 'Physiotherapist', active: true, show_in_online_bookings: true,
  }),
  businesses: record('businesses', '68247117860406273', {
    business_name: 'Fitzroy Physio', address_1: '120 Brunswick St', city: 'Fitzroy', state: 'VIC', post_code: '3065', archived_at: null,
  }),
  appointment_types: record('appointment_types', '68247118510523921', {
    name: 'Initial Consultation', duration_in_minutes: 60, color: '#7D69F5', online_bookings_enabled: true, archived_at: null,
  }),
  products: record('products', '1000000000000000044', { name: 'Foam roller', item_code: 'FR-01', price: '39.95', stock_level: 12, archived_at: null }),
  users: record('users', '68247118367917001', { first_name: 'Maya', last_name: 'Patel', email: 'maya@clinic.example.com', role: 'practitioner', user_active: true }),
  billable_items: record('billable_items', '68247118600000001', { name: 'Standard consultation', item_code: '2020', item_type: 'Service', price: '95.0' }),
  concession_types: record('concession_types', '68247118800000001', { name: 'Pensioner' }),
  concession_prices: record('concession_prices', '68247118800000011', {
    price: '70.0', billable_item: link('billable_items', '68247118600000001'), concession_type: link('concession_types', '68247118800000001'),
  }),
  taxes: record('taxes', '68247118900000001', { name: 'GST', amount: '10.0' }),
  services: record('services', '68247118900000101', { appointment_type: APPOINTMENT_TYPE, business: BUSINESS, practitioners: [PRACTITIONER] }),
  referral_source_types: record('referral_source_types', '68247118900000201', { name: 'GP referral', subcategories: [] }),
  availability_blocks: record('availability_blocks', '1000000000000000720', {
    starts_at: '2026-11-28T22:00:00Z', ends_at: '2026-11-29T00:00:00Z', practitioner: PRACTITIONER, business: BUSINESS,
  }),
  daily_availabilities: record('daily_availabilities', '68247118900000301', {
    day_of_week: 1, availabilities: [{ starts_at: '09:00', ends_at: '13:00' }, { starts_at: '14:00', ends_at: '17:00' }],
    practitioner: PRACTITIONER, business: BUSINESS,
  }),
};

/** For `.updated` examples: the old values of the fields that changed (the object shows the new ones). */
export const CLINIKO_UPDATE_EXAMPLES: Readonly<Record<string, Record<string, unknown>>> = {
  patients: { email: 'ada@old-isp.example.com' },
  contacts: { first_name: 'John' },
  attendees: { patient: link('patients', '1000000000000000318') },
  individual_appointments: { notes: 'Bring previous scans.' },
  group_appointments: { max_attendees: 6 },
  bookings: { patient_name: 'Ada King' },
  invoices: { total_amount: '85.0', net_amount: '77.27', tax_amount: '7.73' },
  invoice_items: { quantity: 2 },
  treatment_notes: { title: 'Initial Assessment' },
  medical_alerts: { name: 'Penicillin allergy (suspected)' },
  patient_cases: { max_sessions: 5 },
  patient_forms: { name: 'Intake form' },
  patient_attachments: { description: 'Scan' },
  communications: { content: 'Reminder: your appointment is tomorrow.' },
  unavailable_blocks: { ends_at: '2026-11-26T02:30:00Z' },
  stock_adjustments: { comment: 'Counted' },
  relationships: { relationship_type: 'Guardian' },
  practitioners: { show_in_online_bookings: false },
  businesses: { address_1: '118 Brunswick St' },
  appointment_types: { duration_in_minutes: 45 },
  products: { stock_level: 13 },
  users: { email: 'maya.patel@clinic.example.com' },
  billable_items: { price: '90.0' },
  concession_types: { name: 'Seniors' },
  concession_prices: { price: '65.0' },
  taxes: { amount: '12.5' },
  services: { practitioners: [] },
  referral_source_types: { name: 'Doctor referral' },
  availability_blocks: { ends_at: '2026-11-28T23:30:00Z' },
  daily_availabilities: { availabilities: [{ starts_at: '09:00', ends_at: '13:00' }] },
};

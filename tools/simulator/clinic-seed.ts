import type { SimResource } from './resources.js';

/**
 * Record counts of a small clinic's account across every simulated resource (a few practitioners, a
 * few hundred patients, appointments, invoices and notes), for tests and benchmarks that need a
 * realistic mix. `overrides` replaces counts, e.g. `{ patients: 2_500 }`.
 */
export function clinicSeed(overrides: Partial<Record<SimResource, number>> = {}): Partial<Record<SimResource, number>> {
  return {
    users: 6,
    businesses: 2,
    taxes: 2,
    billable_items: 6,
    appointment_types: 5,
    practitioners: 5,
    concession_types: 3,
    concession_prices: 4,
    products: 5,
    referral_source_types: 5,
    services: 6,
    daily_availabilities: 12,
    availability_blocks: 8,
    patients: 250,
    contacts: 40,
    relationships: 8,
    patient_cases: 15,
    medical_alerts: 30,
    individual_appointments: 300,
    group_appointments: 12,
    unavailable_blocks: 20,
    attendees: 80,
    invoices: 200,
    invoice_items: 240,
    treatment_notes: 150,
    patient_forms: 40,
    patient_attachments: 30,
    communications: 120,
    stock_adjustments: 30,
    ...overrides,
  };
}

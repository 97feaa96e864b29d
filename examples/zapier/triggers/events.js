'use strict';

/**
 * The ready-made triggers: one bridge event type each. `samples.json` holds a delivery body of each
 * type (regenerate it with `npx tsx examples/zapier/scripts/update-samples.mts` from the repo root).
 */
module.exports = [
  {
    key: 'new_patient',
    event: 'patient.created',
    noun: 'Patient',
    label: 'New Patient',
    description: 'Triggers when a new patient is added in Cliniko.',
  },
  {
    key: 'new_appointment',
    event: 'individual_appointment.created',
    noun: 'Appointment',
    label: 'New Appointment',
    description: 'Triggers when an individual appointment is booked in Cliniko, online or by reception.',
  },
  {
    key: 'appointment_cancelled',
    event: 'individual_appointment.cancelled',
    noun: 'Appointment',
    label: 'Appointment Cancelled',
    description: 'Triggers when an individual appointment is cancelled in Cliniko.',
  },
  {
    key: 'appointment_rescheduled',
    event: 'individual_appointment.rescheduled',
    noun: 'Appointment',
    label: 'Appointment Rescheduled',
    description: 'Triggers when an individual appointment in Cliniko moves to another time or practitioner.',
  },
  {
    key: 'attendee_cancelled',
    event: 'attendee.cancelled',
    noun: 'Attendee',
    label: 'Group Appointment Attendee Cancelled',
    description: "Triggers when a patient's place in a group appointment is cancelled in Cliniko.",
  },
  {
    key: 'contact_updated',
    event: 'contact.updated',
    noun: 'Contact',
    label: 'Updated Contact',
    description: 'Triggers when a contact (a referrer, a doctor, a third party) is changed in Cliniko.',
  },
  {
    key: 'invoice_paid',
    event: 'invoice.paid',
    noun: 'Invoice',
    label: 'Invoice Paid',
    description: 'Triggers when an invoice is paid in full in Cliniko.',
  },
  {
    key: 'esteem_appointment_rescheduled',
    event: 'appointment.rescheduled',
    noun: 'Appointment',
    label: 'Appointment Rescheduled (Esteem)',
    description: 'Triggers when an Esteem appointment moves to another time or provider.',
  },
];

import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN_EVENTS, deriveDomainEvents, domainEventsOf } from '../src/sources/cliniko/domain-events.js';
import type { SourceRecord } from '../src/sources/types.js';
import { Harness, waitFor } from './helpers/harness.js';

const rec = (fields: Record<string, unknown>): SourceRecord => ({ id: '1', updated_at: '2026-11-23T06:50:00Z', ...fields });
const changedFields = (a: SourceRecord, b: SourceRecord) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
const derive = (path: string, before: Record<string, unknown>, after: Record<string, unknown>) => {
  const p = rec(before);
  const c = rec({ ...before, ...after, updated_at: '2026-11-23T06:51:00Z' });
  return deriveDomainEvents(domainEventsOf(path), p, c, changedFields(p, c));
};
const kinds = (events: ReturnType<typeof derive>) => events.map((e) => e.kind);

describe('domain event rules', () => {
  it('individual_appointment.rescheduled when starts_at, ends_at or the practitioner changed, with from/to', () => {
    const before = {
      starts_at: '2026-11-24T23:00:00Z',
      ends_at: '2026-11-24T23:30:00Z',
      practitioner: { links: { self: '.../practitioners/1' } },
      notes: null,
    };
    const moved = derive('individual_appointments', before, { starts_at: '2026-11-25T01:00:00Z', ends_at: '2026-11-25T01:30:00Z' });
    expect(moved).toEqual([
      {
        kind: 'rescheduled',
        data: {
          from: { starts_at: '2026-11-24T23:00:00Z', ends_at: '2026-11-24T23:30:00Z', practitioner: before.practitioner },
          to: { starts_at: '2026-11-25T01:00:00Z', ends_at: '2026-11-25T01:30:00Z', practitioner: before.practitioner },
        },
      },
    ]);
    expect(kinds(derive('individual_appointments', before, { practitioner: { links: { self: '.../practitioners/2' } } }))).toEqual([
      'rescheduled',
    ]);
    expect(derive('individual_appointments', before, { notes: 'x' })).toEqual([]);
  });

  it.each([
    ['individual_appointments', { did_not_arrive: false }, { did_not_arrive: true }, ['did_not_arrive']],
    ['individual_appointments', { patient_arrived: false }, { patient_arrived: true }, ['patient_arrived']],
    ['individual_appointments', { patient_arrived: true }, { patient_arrived: true, notes: 'x' }, []],
    ['attendees', { arrived: null }, { arrived: true }, ['arrived']],
    ['attendees', { arrived: null }, { arrived: false }, ['did_not_arrive']],
    ['attendees', { arrived: true }, { arrived: false }, ['did_not_arrive']],
    ['invoices', { status: 10 }, { status: 20 }, ['paid', 'status_changed']],
    ['invoices', { status: 20 }, { status: 30 }, ['status_changed']],
    ['invoices', { status: 20 }, { status: 20, notes: 'x' }, []],
    ['treatment_notes', { draft: true }, { draft: false }, ['finalised']],
    ['treatment_notes', { treatment_note_status: 10 }, { treatment_note_status: 90 }, ['finalised']],
    ['treatment_notes', { draft: false }, { draft: false, title: 'x' }, []],
    ['patients', { merged_at: null }, { merged_at: '2026-11-23T06:51:00Z' }, ['merged']],
    ['patient_forms', { completed_at: null }, { completed_at: '2026-11-23T06:51:00Z' }, ['completed']],
    ['patient_forms', { completed_at: '2026-11-22T00:00:00Z' }, { completed_at: '2026-11-23T06:51:00Z' }, []],
  ])('%s %j → %j emits %j', (path, before, after, expected) => {
    expect(kinds(derive(path, before, after))).toEqual(expected);
  });

  it('puts the codes in invoice.paid and invoice.status_changed, and the survivor in patient.merged', () => {
    expect(derive('invoices', { status: 10 }, { status: 20 }).map((e) => e.data)).toEqual([
      { from: 10, to: 20 },
      { from: 10, to: 20 },
    ]);
    const merged = derive(
      'patients',
      { merged_at: null },
      { merged_at: '2026-11-23T06:51:00Z', merged_with_patient: { links: { self: 'https://api.au1.cliniko.com/v1/patients/77' } } },
    );
    expect(merged).toEqual([{ kind: 'merged', data: { merged_with_patient_id: '77' } }]);
  });

  it('never fires for a record seen for the first time (a backfill is not news)', () => {
    for (const d of DOMAIN_EVENTS) {
      expect(deriveDomainEvents([d], undefined, rec({ ...d.example.after }), [])).toEqual([]);
    }
  });
});

describe('domain events through the bridge, in addition to .updated', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('delivers each moment next to the generic event of the same change', async () => {
    h = await Harness.create({
      seed: {
        patients: 6,
        individual_appointments: 6,
        group_appointments: 2,
        attendees: 4,
        invoices: 4,
        treatment_notes: 4,
        patient_forms: 3,
        medical_alerts: 1,
      },
      env: {
        BRIDGE_RESOURCES: 'patients,individual_appointments,attendees,invoices,treatment_notes,patient_forms,medical_alerts',
        CLINIKO_RATE_LIMIT_PER_MIN: '10000',
      },
    });
    await h.subscribe(['*']);
    await h.poll();
    const live = (r: Parameters<typeof h.sim.all>[0]) => h.sim.all(r).filter((x) => !x.cancelled_at && !x.archived_at && !x.deleted_at);
    // Seeded past appointments may already be arrived or did-not-arrive: start from neither.
    const [moved, dna, arrivedAppt] = live('individual_appointments').map((a) =>
      h.sim.update('individual_appointments', a.id, { did_not_arrive: false, patient_arrived: false }),
    );
    const [came, missed] = live('attendees').map((a) => h.sim.update('attendees', a.id, { arrived: null }));
    await h.poll();
    h.sim.update('individual_appointments', moved!.id, { starts_at: '2027-01-05T23:00:00Z', ends_at: '2027-01-05T23:45:00Z' });
    h.sim.update('individual_appointments', dna!.id, { did_not_arrive: true });
    h.sim.update('individual_appointments', arrivedAppt!.id, { patient_arrived: true });
    h.sim.update('attendees', came!.id, { arrived: true });
    h.sim.update('attendees', missed!.id, { arrived: false });
    const invoice = live('invoices').find((i) => i.status !== 20) ?? h.sim.update('invoices', live('invoices')[0]!.id, { status: 10 });
    await h.poll();
    h.sim.update('invoices', invoice.id, { status: 20, status_description: 'Paid' });
    const note = h.sim.update('treatment_notes', live('treatment_notes')[0]!.id, { draft: true });
    await h.poll();
    h.sim.update('treatment_notes', note.id, { draft: false });
    const [merged, survivor] = live('patients');
    h.sim.merge(merged!.id, survivor!.id);
    const form = h.sim.update('patient_forms', live('patient_forms')[0]!.id, { completed_at: null });
    await h.poll();
    h.sim.update('patient_forms', form.id, { completed_at: '2026-11-23T07:00:00Z' });
    const alert = h.sim.create('medical_alerts', { name: 'Latex allergy', patient_id: survivor!.id });
    await h.poll();

    const wanted = [
      'individual_appointment.rescheduled',
      'individual_appointment.did_not_arrive',
      'individual_appointment.patient_arrived',
      'attendee.arrived',
      'attendee.did_not_arrive',
      'invoice.paid',
      'invoice.status_changed',
      'treatment_note.finalised',
      'patient.merged',
      'patient_form.completed',
      'medical_alert.created',
    ];
    await waitFor(() => wanted.every((t) => h.receiver.types().includes(t)), 10_000, 'all').catch(() => undefined);
    expect(wanted.filter((t) => !h.receiver.types().includes(t))).toEqual([]);
    expect(h.receiver.received.every((r) => r.verified)).toBe(true);

    // Each domain event comes with the generic event of the same change, for the same record.
    const pairs: Array<[string, string]> = [
      ['individual_appointment.rescheduled', 'individual_appointment.updated'],
      ['invoice.paid', 'invoice.updated'],
      ['treatment_note.finalised', 'treatment_note.updated'],
      ['patient.merged', 'patient.updated'],
      ['patient_form.completed', 'patient_form.updated'],
      ['attendee.arrived', 'attendee.updated'],
    ];
    for (const [domain, generic] of pairs) {
      const d = h.receiver.ofType(domain)[0]!;
      // The generic event of the same change is the one emitted just before it (event ids are ULIDs).
      const g = h.receiver
        .ofType(generic)
        .filter((r) => r.payload.data.id === d.payload.data.id && r.id < d.id)
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .at(-1);
      expect(g, `${generic} next to ${domain}`).toBeDefined();
      expect(d.payload.data.previous_attributes).toEqual(g!.payload.data.previous_attributes);
      expect(d.id).not.toBe(g!.id);
    }
    const rescheduled = h.receiver.ofType('individual_appointment.rescheduled')[0]!.payload.data;
    expect(rescheduled).toMatchObject({
      id: moved!.id,
      from: { starts_at: moved!.starts_at },
      to: { starts_at: '2027-01-05T23:00:00Z', ends_at: '2027-01-05T23:45:00Z' },
    });
    expect(h.receiver.ofType('invoice.paid')[0]!.payload.data).toMatchObject({ id: invoice.id, to: 20 });
    expect(h.receiver.ofType('patient.merged')[0]!.payload.data).toMatchObject({ id: merged!.id, merged_with_patient_id: survivor!.id });
    expect(h.receiver.ofType('medical_alert.created')[0]!.payload.data).toMatchObject({ id: alert.id, object: { name: 'Latex allergy' } });
    expect(h.receiver.ofType('attendee.did_not_arrive')[0]!.payload.data.id).toBe(missed!.id);
  });
});

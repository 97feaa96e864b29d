import { describe, expect, it } from 'vitest';
import { diffRecord } from '../src/poller/diff.js';
import { CLINIKO_RESOURCES, eventTypesOf } from '../src/sources/cliniko/resources.js';

const appointments = CLINIKO_RESOURCES.find((r) => r.path === 'individual_appointments')!;
const base = { id: '1', notes: 'a', cancelled_at: null, archived_at: null, deleted_at: null, updated_at: '2026-11-23T06:50:01Z' };

describe('diffRecord', () => {
  it('reports a record never seen as created', () => {
    expect(diffRecord(undefined, base, appointments.lifecycle)).toEqual({ kinds: ['created'] });
  });

  it('reports nothing when no field changed', () => {
    expect(diffRecord(base, { ...base }, appointments.lifecycle)).toBeNull();
  });

  it('reports an update with the old values of exactly the changed fields', () => {
    const change = diffRecord(base, { ...base, notes: 'b', updated_at: '2026-11-23T06:51:00Z' }, appointments.lifecycle);
    expect(change).toEqual({ kinds: ['updated'], previous_attributes: { notes: 'a', updated_at: '2026-11-23T06:50:01Z' } });
  });

  it('compares nested values, not references', () => {
    const a = { ...base, phone_numbers: [{ number: '1', phone_type: 'Mobile' }] };
    expect(diffRecord(a, { ...a, phone_numbers: [{ number: '1', phone_type: 'Mobile' }] }, appointments.lifecycle)).toBeNull();
    expect(diffRecord(a, { ...a, phone_numbers: [{ number: '2', phone_type: 'Mobile' }] }, appointments.lifecycle)?.kinds).toEqual([
      'updated',
    ]);
  });

  it.each([
    ['cancelled_at', null, '2026-11-23T07:00:00Z', ['cancelled']],
    ['archived_at', null, '2026-11-23T07:00:00Z', ['archived']],
    ['archived_at', '2026-11-23T07:00:00Z', null, ['unarchived']],
    ['deleted_at', null, '2026-11-23T07:00:00Z', ['deleted']],
    ['cancelled_at', '2026-11-23T07:00:00Z', null, ['updated']],
  ])('lifecycle %s %s → %s emits %j instead of updated', (column, from, to, kinds) => {
    const change = diffRecord({ ...base, [column]: from }, { ...base, [column]: to, notes: 'changed too' }, appointments.lifecycle);
    expect(change?.kinds).toEqual(kinds);
    expect(change?.previous_attributes).toEqual({ [column]: from, notes: 'a' });
  });

  it('lists every event type of a resource for the catalogue', () => {
    expect(eventTypesOf(appointments)).toEqual([
      'individual_appointment.created',
      'individual_appointment.updated',
      'individual_appointment.cancelled',
      'individual_appointment.archived',
      'individual_appointment.unarchived',
      'individual_appointment.deleted',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { deliveryBody } from '../src/delivery/body.js';
import type { EventEnvelope } from '../src/events/envelope.js';

const event: EventEnvelope = {
  id: 'evt_01',
  type: 'patient.updated',
  timestamp: '2026-11-23T09:30:00.000Z',
  data: {
    source: 'cliniko',
    resource: 'patient',
    id: '42',
    object: { id: '42', first_name: 'Mina', notes: 'private', links: { self: 'https://api.au1.cliniko.com/v1/patients/42' } },
    previous_attributes: { first_name: 'Wilhelmina' },
  },
} as EventEnvelope;

describe('deliveryBody', () => {
  it('full: the event as stored, byte for byte', () => {
    expect(deliveryBody(event, { payload: 'full', fields: null })).toBe(JSON.stringify(event));
  });

  it('full with fields: only those fields and id, in object and previous_attributes', () => {
    const body = JSON.parse(deliveryBody(event, { payload: 'full', fields: ['first_name'] }));
    expect(body.data.object).toEqual({ id: '42', first_name: 'Mina' });
    expect(body.data.previous_attributes).toEqual({ first_name: 'Wilhelmina' });
  });

  it('thin: no values; links.self under the configured base URL of that source', () => {
    const thin = { payload: 'thin' as const, fields: null };
    const rebased = JSON.parse(deliveryBody(event, thin, { cliniko: 'http://127.0.0.1:4010/v1' }));
    expect(rebased.data).toEqual({
      source: 'cliniko',
      resource: 'patient',
      id: '42',
      changed_fields: ['first_name'],
      links: { self: 'http://127.0.0.1:4010/v1/patients/42' },
    });
    expect(JSON.stringify(rebased)).not.toContain('Mina');
    // Without a base (or for another source) the upstream's own link is kept.
    expect(JSON.parse(deliveryBody(event, thin)).data.links.self).toBe('https://api.au1.cliniko.com/v1/patients/42');
    expect(JSON.parse(deliveryBody(event, thin, { esteem: 'http://x' })).data.links.self).toBe(
      'https://api.au1.cliniko.com/v1/patients/42',
    );
  });

  // A hashed-snapshot update carries the names of the changed fields, not their old values.
  const hashed = {
    ...event,
    data: { ...event.data, previous_attributes: undefined, changed_fields: ['first_name', 'notes'] },
  } as EventEnvelope;
  // A change to a record the first pass had not read yet: no previous version known.
  const unknown = { ...event, data: { ...event.data, previous_attributes: null, snapshot: 'none' } } as EventEnvelope;

  it('thin with hashed snapshots: changed_fields are the names the event carries', () => {
    const body = JSON.parse(deliveryBody(hashed, { payload: 'thin', fields: null }));
    expect(body.data.changed_fields).toEqual(['first_name', 'notes']);
  });

  it('thin with no previous version: snapshot "none", never an empty changed_fields that reads as "nothing changed"', () => {
    const body = JSON.parse(deliveryBody(unknown, { payload: 'thin', fields: null }));
    expect(body.data.snapshot).toBe('none');
    expect(body.data).not.toHaveProperty('changed_fields');
  });

  it('full with fields keeps changed_fields, and previous_attributes: null with snapshot "none"', () => {
    const sub = { payload: 'full' as const, fields: ['first_name'] };
    expect(JSON.parse(deliveryBody(hashed, sub)).data.changed_fields).toEqual(['first_name', 'notes']);
    const body = JSON.parse(deliveryBody(unknown, sub));
    expect(body.data.previous_attributes).toBeNull();
    expect(body.data.snapshot).toBe('none');
    expect(body.data.object).toEqual({ id: '42', first_name: 'Mina' });
  });
});

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
});

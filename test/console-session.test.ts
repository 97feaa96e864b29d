import { describe, expect, it } from 'vitest';
import { maskEvent, MASK } from '../src/console/mask.js';
import { csrfMatches, SessionStore } from '../src/console/session.js';

describe('console sessions', () => {
  it('expire after the idle time without a request, and at the latest after the maximum age', () => {
    let now = 0;
    const sessions = new SessionStore({ idleMs: 1_000, maxMs: 5_000, now: () => now });
    const s = sessions.create(null);
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.csrf).not.toBe(s.id);
    now = 900;
    expect(sessions.get(s.id)).toBe(s); // restarts the idle timer
    now = 1_800;
    expect(sessions.get(s.id)).toBe(s);
    now = 2_801;
    expect(sessions.get(s.id)).toBeNull();

    const t = sessions.create('key_1');
    for (now = 3_000; now <= 8_000; now += 900) expect(sessions.get(t.id)).toBe(t);
    now = 8_001;
    expect(sessions.get(t.id)).toBeNull();
  });

  it('alive() does not keep a session alive; delete() ends it', () => {
    let now = 0;
    const sessions = new SessionStore({ idleMs: 1_000, now: () => now });
    const s = sessions.create(null);
    now = 600;
    expect(sessions.alive(s.id)).toBe(true);
    now = 1_100;
    expect(sessions.alive(s.id)).toBe(false);
    const t = sessions.create(null);
    sessions.delete(t.id);
    expect(sessions.get(t.id)).toBeNull();
  });

  it('accepts only the session’s own CSRF token', () => {
    const s = new SessionStore().create(null);
    expect(csrfMatches(s, s.csrf)).toBe(true);
    expect(csrfMatches(s, `${s.csrf}x`)).toBe(false);
    expect(csrfMatches(s, undefined)).toBe(false);
    expect(csrfMatches(s, [s.csrf])).toBe(false);
  });
});

describe('masking record values', () => {
  it('hides values but keeps keys, ids, times and links', () => {
    const masked = maskEvent({
      id: 'evt_1',
      type: 'patient.updated',
      data: {
        source: 'cliniko',
        resource: 'patient',
        id: '42',
        object: {
          id: '42',
          first_name: 'Ada',
          phone_numbers: [{ number: '0400 000 000', phone_type: 'Mobile' }],
          updated_at: '2026-01-01T00:00:00Z',
          practitioner_id: '7',
          links: { self: 'https://x/patients/42' },
          notes: null,
        },
        previous_attributes: { first_name: 'Ava' },
      },
    });
    expect(masked.data.object).toEqual({
      id: '42',
      first_name: MASK,
      phone_numbers: [{ number: MASK, phone_type: MASK }],
      updated_at: '2026-01-01T00:00:00Z',
      practitioner_id: '7',
      links: { self: 'https://x/patients/42' },
      notes: null,
    });
    expect(masked.data.previous_attributes).toEqual({ first_name: MASK });
    expect(JSON.stringify(masked)).not.toMatch(/Ada|Ava|0400/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

const SEED = { patients: 6, contacts: 4, individual_appointments: 6, group_appointments: 2, attendees: 4 };
// The five resources these tests are about (every resource is the default; bookings would repeat
// the appointments' events).
const FIVE = { BRIDGE_RESOURCES: 'patients,contacts,attendees,individual_appointments,group_appointments' };

describe('the bridge end to end against the simulator', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('records a silent baseline, then delivers each event type of each resource, signed and verifiable', async () => {
    h = await Harness.create({ seed: SEED, env: FIVE });
    await h.subscribe(['*']);
    await h.poll();
    const sources = await h.api('GET', '/v1/sources');
    expect(sources.json.data).toHaveLength(5);
    for (const r of sources.json.data) expect(r.cursor.baseline_done).toBe(true);
    expect((await h.api('GET', '/v1/events')).json.data).toEqual([]);

    const sim = h.sim;
    const pick = (res: Parameters<typeof sim.all>[0]) => sim.all(res).find((r) => !r.cancelled_at && !r.archived_at && !r.deleted_at)!.id;
    const patient = sim.create('patients', { first_name: 'Ada', last_name: 'Lovelace' });
    const contactId = pick('contacts');
    sim.update('contacts', contactId, { first_name: 'Jon' });
    const attendeeId = pick('attendees');
    sim.cancel('attendees', attendeeId, 50, 'Away');
    const apptId = pick('individual_appointments');
    sim.archive('individual_appointments', apptId);
    const groupId = pick('group_appointments');
    sim.remove('group_appointments', groupId);
    await h.poll();

    await waitFor(() => h.receiver.received.length >= 5, 10_000, 'five deliveries');
    // A second record goes back and forth: archived, then unarchived.
    sim.archive('patients', patient.id);
    await h.poll();
    sim.unarchive('patients', patient.id);
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 7, 10_000, 'seven deliveries');

    expect(h.receiver.received.every((r) => r.verified)).toBe(true);
    expect(h.receiver.types().sort()).toEqual(
      [
        'attendee.cancelled',
        'contact.updated',
        'group_appointment.deleted',
        'individual_appointment.archived',
        'patient.archived',
        'patient.created',
        'patient.unarchived',
      ].sort(),
    );

    const created = h.receiver.ofType('patient.created')[0]!;
    expect(created.payload.id).toBe(created.id);
    expect(created.payload.data).toMatchObject({ source: 'cliniko', resource: 'patient', id: patient.id });
    expect(created.payload.data.object.first_name).toBe('Ada');
    expect(created.payload.data.previous_attributes).toBeUndefined();
    expect(created.userAgent).toMatch(/^clinic-event-bridge\/\d+\.\d+\.\d+/);
    expect(typeof created.payload.data.id).toBe('string');

    const updated = h.receiver.ofType('contact.updated')[0]!;
    expect(updated.payload.data.object.first_name).toBe('Jon');
    expect(updated.payload.data.previous_attributes).toHaveProperty('first_name');
    expect(updated.payload.data.previous_attributes!.first_name).not.toBe('Jon');

    const cancelled = h.receiver.ofType('attendee.cancelled')[0]!;
    expect(cancelled.payload.data.previous_attributes).toMatchObject({ cancelled_at: null });
    expect(cancelled.payload.data.object.cancelled_at).toEqual(expect.any(String));

    const deleted = h.receiver.ofType('group_appointment.deleted')[0]!;
    expect(deleted.payload.data.id).toBe(groupId);
    expect(deleted.payload.data.object.deleted_at).toEqual(expect.any(String));

    // Nothing more arrives when nothing changed.
    await h.poll();
    await h.settled();
    expect(h.receiver.received).toHaveLength(7);
  });

  it('emits .created for existing records when BRIDGE_BACKFILL=true', async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_BACKFILL: 'true' } });
    await h.subscribe(['contact.created']);
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 3);
    expect(h.receiver.types()).toEqual(['contact.created', 'contact.created', 'contact.created']);
  });

  it('finds deleted contacts through the deleted_at filter (contacts have no /deleted list)', async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe();
    await h.poll();
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.remove('contacts', id);
    await h.poll();
    await waitFor(() => h.receiver.ofType('contact.deleted').length === 1);
    expect(h.receiver.ofType('contact.deleted')[0]!.payload.data.id).toBe(id);
  });

  it('filters deliveries by event type pattern', async () => {
    h = await Harness.create({ seed: SEED, env: FIVE });
    await h.subscribe(['attendee.*']);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'x' });
    const attendee = h.sim.all('attendees').find((a) => !a.cancelled_at && !a.deleted_at && !a.archived_at)!;
    h.sim.update('attendees', attendee.id, { notes: 'arrived late' });
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 1);
    await h.settled();
    expect(h.receiver.types()).toEqual(['attendee.updated']);
    // Both events are still in the log.
    const events = await h.api('GET', '/v1/events');
    expect(events.json.data.map((e: { type: string }) => e.type).sort()).toEqual(['attendee.updated', 'contact.updated']);
  });
});

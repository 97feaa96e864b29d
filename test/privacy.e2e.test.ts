import type { LowdbStore } from '../src/store/lowdb-store.js';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { ADMIN_TOKEN, Harness, waitFor } from './helpers/harness.js';

describe('patient data in deliveries and logs', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('sends thin payloads without record values, and full payloads cut to a fields allow-list', async () => {
    h = await Harness.create({ seed: { patients: 3 }, env: { BRIDGE_RESOURCES: 'patients' } });
    const thin = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, payload: 'thin' });
    h.receiver.secret = thin.json.secret;
    await h.poll();
    const patient = h.sim.all('patients')[0]!;
    h.sim.update('patients', patient.id, { first_name: 'Wilhelmina', notes: 'allergic to penicillin' });
    await h.poll();
    const got = await waitFor(() => h.receiver.received[0]);
    expect(got.verified).toBe(true);
    expect(got.body).not.toContain('Wilhelmina');
    expect(got.body).not.toContain('penicillin');
    expect(JSON.parse(got.body)).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: 'patient.updated',
      timestamp: expect.any(String),
      data: {
        source: 'cliniko',
        resource: 'patient',
        id: patient.id,
        changed_fields: expect.arrayContaining(['first_name', 'notes', 'updated_at']),
        // The configured CLINIKO_BASE_URL (the simulator), not the shard Cliniko names in its own links.
        links: { self: `${h.simUrl.replace(/\/v1$/, '')}/v1/patients/${patient.id}` },
      },
    });

    await h.api('PATCH', `/v1/subscriptions/${thin.json.id}`, { payload: 'full', fields: ['first_name', 'updated_at'] });
    h.sim.update('patients', patient.id, { first_name: 'Mina', notes: 'no allergies' });
    await h.poll();
    const full = await waitFor(() => h.receiver.received[1]);
    expect(full.verified).toBe(true);
    expect(full.payload.data.object).toEqual({ id: patient.id, first_name: 'Mina', updated_at: expect.any(String) });
    expect(full.payload.data.previous_attributes).toMatchObject({ first_name: 'Wilhelmina' });
    expect(Object.keys(full.payload.data.previous_attributes!).every((k) => ['first_name', 'updated_at'].includes(k))).toBe(true);
    expect(full.body).not.toContain('allerg');
  });

  it('logs no API key, admin token, webhook secret, signature or record value during a run with faults and retries', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    h = await Harness.create({
      seed: { patients: 4, contacts: 3 },
      env: { BRIDGE_RESOURCES: 'patients,contacts', LOG_LEVEL: 'trace' },
      logger: createLogger('trace', sink),
    });
    const subId = await h.subscribe();
    await h.poll();
    h.receiver.respondWith.push(500, 503);
    h.sim.injectFault({ status: 500, times: 1 });
    await h.poll();
    h.sim.injectFault({ status: 429, retryAfterSeconds: 1, times: 1 });
    for (const p of h.sim.all('patients')) h.sim.update('patients', p.id, { notes: 'sensitive note text' });
    h.sim.create('contacts', { first_name: 'Bartholomew', email: 'bart@example.org' });
    await h.poll();
    await h.poll();
    await waitFor(() => h.receiver.received.filter((r) => r.verified).length >= 5);
    const rotated = await h.api('POST', `/v1/subscriptions/${subId}/secret/rotate`, {});
    const eventId = h.receiver.received[0]!.id;
    await h.api('POST', `/v1/events/${eventId}/replay`, {});
    await h.api('GET', '/v1/events', undefined, 'a-wrong-token-of-some-length');
    await waitFor(() => h.receiver.received.some((r) => r.id === eventId && r.headers['webhook-signature']!.includes(' ')));
    await h.bridge.stop();

    const log = lines.join('');
    expect(log).toContain('delivered'); // the capture works
    const forbidden = new Set<string>([
      'sim-key-au1',
      ADMIN_TOKEN,
      h.receiver.secret,
      rotated.json.secret,
      'sensitive note text',
      'Bartholomew',
      'bart@example.org',
    ]);
    for (const r of h.receiver.received) for (const sig of r.headers['webhook-signature']!.split(' ')) forbidden.add(sig.slice(3));
    for (const kind of ['patients', 'contacts'] as const) {
      for (const rec of h.sim.all(kind)) {
        for (const f of ['first_name', 'last_name', 'email'])
          if (typeof rec[f] === 'string' && (rec[f] as string).length > 3) forbidden.add(rec[f] as string);
      }
    }
    for (const value of forbidden) expect(log.includes(value), `log contains ${value}`).toBe(false);
  });

  it('with BRIDGE_SNAPSHOT_MODE=hashed keeps no old values in snapshots, yet names changed fields and still finds domain events', async () => {
    const { randomBytes } = await import('node:crypto');
    const { readdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    h = await Harness.create({
      seed: { patients: 3, individual_appointments: 3 },
      env: {
        BRIDGE_RESOURCES: 'patients,individual_appointments',
        BRIDGE_SNAPSHOT_MODE: 'hashed',
        BRIDGE_HASH_KEY: randomBytes(32).toString('base64'),
      },
    });
    await h.subscribe(['patient.updated', 'individual_appointment.did_not_arrive']);
    await h.poll();
    const patient = h.sim.all('patients')[0]!;
    h.sim.update('patients', patient.id, { first_name: 'Wilhelmina' });
    const appt = h.sim
      .all('individual_appointments')
      .find((a) => !a.cancelled_at && !a.archived_at && !a.deleted_at && a.did_not_arrive !== true)!;
    h.sim.update('individual_appointments', appt.id, { did_not_arrive: true });
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 2);

    const updated = h.receiver.ofType('patient.updated')[0]!;
    expect(updated.payload.data.previous_attributes).toBeUndefined();
    expect(updated.payload.data.changed_fields).toEqual(expect.arrayContaining(['first_name']));
    expect(updated.payload.data.object.first_name).toBe('Wilhelmina');
    expect(h.receiver.ofType('individual_appointment.did_not_arrive')[0]!.payload.data.id).toBe(appt.id);

    // No patient name is readable in any snapshot, in memory or in the snapshot part files.
    const names = h.sim
      .all('patients')
      .flatMap((p) => [p.first_name, p.last_name])
      .filter((n): n is string => typeof n === 'string' && n.length >= 3);
    const snaps = JSON.stringify((await (h.bridge.store as LowdbStore).dump()).snapshots);
    for (const n of names) expect(snaps.includes(`"${n}"`), n).toBe(false);
    expect(snaps).toContain('hmac:');
    await h.bridge.stop();
    for (const f of (await readdir(h.dataDir)).filter((f) => f.startsWith('snap.'))) {
      const text = await readFile(join(h.dataDir, f), 'utf8');
      for (const n of names) expect(text.includes(`"${n}"`), `${n} in ${f}`).toBe(false);
    }
  });
});

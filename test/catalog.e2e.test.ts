import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE_END, CATALOGUE_START, EVENT_CATALOGUE, renderEventCatalogue, withCatalogue } from '../src/catalog/index.js';
import { loadConfig } from '../src/config/index.js';
import { EventEnvelope } from '../src/events/envelope.js';
import { DOMAIN_EVENTS } from '../src/sources/cliniko/domain-events.js';
import { ESTEEM_EVENT_TYPES } from '../src/sources/esteem/events.js';
import { CLINIKO_RESOURCES, DEFAULT_TIERS, eventTypesOf } from '../src/sources/cliniko/resources.js';
import { Harness } from './helpers/harness.js';

const EVENTS_DOC = readFileSync(new URL('../docs/events.md', import.meta.url), 'utf8');
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the event catalogue', () => {
  it('is what docs/events.md shows: the table between the markers is generated from it (run `npm run docs:events`)', () => {
    expect(EVENTS_DOC).toContain(CATALOGUE_START);
    expect(EVENTS_DOC).toContain(CATALOGUE_END);
    expect(withCatalogue(EVENTS_DOC)).toBe(EVENTS_DOC);
    expect(EVENTS_DOC).toContain(renderEventCatalogue());
    // README stays short and links to it.
    expect(README).toContain('(docs/events.md)');
    expect(README.split('\n').length).toBeLessThanOrEqual(400);
  });

  it('has examples that are envelopes exactly as the envelope schema reads them', () => {
    for (const doc of EVENT_CATALOGUE) {
      expect(EventEnvelope.parse(doc.example), doc.type).toEqual(doc.example);
      expect(doc.example.type).toBe(doc.type);
    }
  });

  it('lists every event type the bridge can emit, once per source, and nothing else', () => {
    const all = EVENT_CATALOGUE.map((d) => d.type);
    expect(new Set(all).size).toBe(all.length);
    expect(EVENT_CATALOGUE.filter((d) => d.source === 'esteem').map((d) => d.type)).toEqual([...ESTEEM_EVENT_TYPES]);
    const types = EVENT_CATALOGUE.filter((d) => d.source === 'cliniko').map((d) => d.type);
    const emitted = [
      ...CLINIKO_RESOURCES.flatMap((r) => eventTypesOf(r)),
      ...DOMAIN_EVENTS.map((d) => `${CLINIKO_RESOURCES.find((r) => r.path === d.resource)!.name}.${d.kind}`),
    ];
    expect(new Set(types)).toEqual(new Set(emitted));
    for (const wanted of [
      'individual_appointment.rescheduled',
      'individual_appointment.did_not_arrive',
      'individual_appointment.patient_arrived',
      'attendee.arrived',
      'attendee.did_not_arrive',
      'booking.created',
      'booking.cancelled',
      'invoice.paid',
      'invoice.status_changed',
      'treatment_note.finalised',
      'patient.merged',
      'patient_form.completed',
      'medical_alert.created',
    ]) {
      expect(types).toContain(wanted);
    }
    expect(EVENT_CATALOGUE.find((d) => d.type === 'medical_alert.created')!.description).toMatch(/allerg/);
  });

  it('gives every type a description and an example delivery body of that type', () => {
    for (const doc of EVENT_CATALOGUE) {
      expect(doc.description.length, doc.type).toBeGreaterThan(20);
      const { example } = doc;
      expect(example.type).toBe(doc.type);
      expect(example.id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(Number.isNaN(Date.parse(example.timestamp))).toBe(false);
      expect(example.data).toMatchObject({ source: doc.source, resource: doc.type.split('.')[0], id: expect.stringMatching(/^\d+$/) });
      expect(example.data.object.id).toBe(example.data.id);
      // A removal carries the last known object and nothing changed in it.
      if (doc.type.endsWith('.created') || doc.type.endsWith('.removed')) expect(example.data.previous_attributes).toBeUndefined();
      else expect(Object.keys(example.data.previous_attributes ?? {}).length, doc.type).toBeGreaterThan(0);
    }
    const paid = EVENT_CATALOGUE.find((d) => d.type === 'invoice.paid')!.example.data;
    expect(paid).toMatchObject({ from: 10, to: 20, object: { status: 20 }, previous_attributes: { status: 10 } });
    const rescheduled = EVENT_CATALOGUE.find((d) => d.type === 'individual_appointment.rescheduled')!.example.data;
    expect(rescheduled.from).toMatchObject({ starts_at: '2026-11-24T23:00:00Z' });
  });

  it('assigns every resource exactly one tier in config/default.json, as the registry does', () => {
    const defaults = JSON.parse(readFileSync(new URL('../config/default.json', import.meta.url), 'utf8')) as {
      cliniko: { tiers: Record<string, string[]> };
    };
    const listed = Object.values(defaults.cliniko.tiers).flat();
    expect(new Set(listed).size).toBe(listed.length);
    expect(new Set(listed)).toEqual(new Set(CLINIKO_RESOURCES.map((r) => r.path)));
    const config = loadConfig({
      CLINIKO_API_KEY: 'k',
      CLINIKO_USER_AGENT: 'A (a@b.co)',
      BRIDGE_ADMIN_TOKEN: 'a-token-of-16-chars-or-more',
    });
    expect(config.cliniko!.tiers).toEqual(DEFAULT_TIERS);
    expect(config.cliniko!.headroomPercent).toBe(10);
    for (const hot of [
      'individual_appointments',
      'group_appointments',
      'attendees',
      'bookings',
      'patients',
      'invoices',
      'treatment_notes',
    ]) {
      expect(DEFAULT_TIERS[hot], hot).toBe('hot');
    }
    const promoted = loadConfig({
      CLINIKO_API_KEY: 'k',
      CLINIKO_USER_AGENT: 'A (a@b.co)',
      BRIDGE_ADMIN_TOKEN: 'a-token-of-16-chars-or-more',
      CLINIKO_TIER_HOT: 'contacts,patients',
    });
    expect(promoted.cliniko!.tiers).toMatchObject({ contacts: 'hot', patients: 'hot', invoices: 'warm', taxes: 'cold' });
  });
});

describe('GET /v1/event-types', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
  });
  afterAll(async () => h?.close());

  it('serves the catalogue: type, description and example payload of every event type', async () => {
    const { status, json } = await h.api('GET', '/v1/event-types');
    expect(status).toBe(200);
    expect(json.data).toHaveLength(EVENT_CATALOGUE.length);
    expect(json.data[0]).toEqual({
      type: EVENT_CATALOGUE[0]!.type,
      description: EVENT_CATALOGUE[0]!.description,
      example: EVENT_CATALOGUE[0]!.example,
    });
    expect(json.data.find((d: { type: string }) => d.type === 'invoice.paid').example.data.to).toBe(20);
    expect((await h.api('GET', '/v1/event-types', undefined, 'wrong-token-0123456789')).status).toBe(401);
  });
});

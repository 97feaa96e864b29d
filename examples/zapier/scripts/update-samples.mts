/**
 * Writes `samples.json`: the sample delivery of every trigger, as the bridge's own
 * `GET /v1/hooks/sample` would give it before any event happened (the event catalogue's example of
 * the type). Run from the repository root after the catalogue changes:
 *
 *   npx tsx examples/zapier/scripts/update-samples.mts
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { exampleOf } from '../../../src/http/routes/hooks.js';
import type { EventPayload } from '../../../src/store/schema.js';

const require = createRequire(import.meta.url);
const EVENTS = require('../triggers/events.js') as Array<{ event: string }>;

/** Esteem types are not in the bridge's catalogue yet: docs/esteem.md's examples. */
const ESTEEM: Record<string, EventPayload> = {
  'appointment.rescheduled': {
    id: 'evt_01KAQ0B7Y2C5D8E1F4G7H0J3K6',
    type: 'appointment.rescheduled',
    timestamp: '2026-10-21T08:15:02.511Z',
    data: {
      source: 'esteem',
      resource: 'appointment',
      id: '123',
      object: {
        id: '123',
        patient_id: 1049,
        provider_id: 457,
        scheduled_at: '2026-10-28T09:00:00.000Z',
        status: 'scheduled',
        appointment_type: 'therapy',
        duration_minutes: 60,
        notes: 'Initial consultation',
        created_at: '2026-10-20T10:00:00.000Z',
        updated_at: '2026-10-21T08:14:40.000Z',
        documentation_pending: false,
      },
      previous_attributes: { provider_id: 456, scheduled_at: '2026-10-27T14:30:00.000Z', updated_at: '2026-10-20T10:00:00.000Z' },
      previous: { scheduled_at: '2026-10-27T14:30:00.000Z', provider_id: 456 },
    },
  },
};

const samples: Record<string, EventPayload> = {};
for (const { event } of EVENTS) samples[event] = ESTEEM[event] ?? exampleOf(event);
samples['*'] = exampleOf('*');

const out = new URL('../samples.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(samples, null, 2)}\n`);
console.log(`wrote ${Object.keys(samples).length} samples to ${out.pathname}`);

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

const samples: Record<string, EventPayload> = {};
for (const { event } of EVENTS) samples[event] = exampleOf(event);
samples['*'] = exampleOf('*');

const out = new URL('../samples.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(samples, null, 2)}\n`);
console.log(`wrote ${Object.keys(samples).length} samples to ${out.pathname}`);

/**
 * Regenerates the event catalogue in docs/events.md (between the event-catalogue markers) from
 * src/catalog: `npm run docs:events`. `--check` only compares and exits 1 when docs/events.md is out
 * of date; `--json` prints the catalogue as `GET /v1/event-types` serves it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { EVENT_CATALOGUE, withCatalogue } from '../src/catalog/index.js';

const DOC = new URL('../docs/events.md', import.meta.url);
const args = new Set(process.argv.slice(2));

if (args.has('--json')) {
  process.stdout.write(
    `${JSON.stringify({ data: EVENT_CATALOGUE.map(({ type, description, example }) => ({ type, description, example })) }, null, 2)}\n`,
  );
} else {
  const current = readFileSync(DOC, 'utf8');
  const next = withCatalogue(current);
  if (args.has('--check')) {
    if (next !== current) {
      process.stderr.write('docs/events.md event catalogue is out of date: run `npm run docs:events`\n');
      process.exit(1);
    }
    process.stdout.write(`docs/events.md event catalogue is up to date (${EVENT_CATALOGUE.length} event types)\n`);
  } else if (next === current) {
    process.stdout.write(`docs/events.md event catalogue unchanged (${EVENT_CATALOGUE.length} event types)\n`);
  } else {
    writeFileSync(DOC, next);
    process.stdout.write(`docs/events.md event catalogue written (${EVENT_CATALOGUE.length} event types)\n`);
  }
}

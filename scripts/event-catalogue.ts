/**
 * Regenerates README's event catalogue (between the event-catalogue markers in "## Events") from
 * src/catalog: `npx tsx scripts/event-catalogue.ts`. `--check` only compares and exits 1 when the
 * README is out of date; `--json` prints the catalogue as `GET /v1/event-types` serves it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { EVENT_CATALOGUE, withCatalogue } from '../src/catalog/index.js';

const README = new URL('../README.md', import.meta.url);
const args = new Set(process.argv.slice(2));

if (args.has('--json')) {
  process.stdout.write(`${JSON.stringify({ data: EVENT_CATALOGUE.map(({ type, description, example }) => ({ type, description, example })) }, null, 2)}\n`);
} else {
  const current = readFileSync(README, 'utf8');
  const next = withCatalogue(current);
  if (args.has('--check')) {
    if (next !== current) {
      process.stderr.write('README.md event catalogue is out of date: run `npx tsx scripts/event-catalogue.ts`\n');
      process.exit(1);
    }
    process.stdout.write(`README.md event catalogue is up to date (${EVENT_CATALOGUE.length} event types)\n`);
  } else if (next === current) {
    process.stdout.write(`README.md event catalogue unchanged (${EVENT_CATALOGUE.length} event types)\n`);
  } else {
    writeFileSync(README, next);
    process.stdout.write(`README.md event catalogue written (${EVENT_CATALOGUE.length} event types)\n`);
  }
}

import { clinikoEventTypes, type EventTypeDoc } from '../sources/cliniko/catalog.js';
import { esteemEventTypes } from '../sources/esteem/catalog.js';

export type { EventTypeDoc } from '../sources/cliniko/catalog.js';

/**
 * Every event type the bridge can deliver, with a description and an example delivery body: the
 * one place the catalogue lives. `GET /v1/event-types` serves it and the table in docs/events.md is
 * generated from it (`npm run docs:events`; a test fails when they differ). A new source adds its
 * list here.
 */
export const EVENT_CATALOGUE: readonly EventTypeDoc[] = [...clinikoEventTypes(), ...esteemEventTypes()];

/** Markers around the generated part of docs/events.md. */
export const CATALOGUE_START = '<!-- event-catalogue:start — generated from src/catalog by `npm run docs:events`; do not edit by hand -->';
export const CATALOGUE_END = '<!-- event-catalogue:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown docs/events.md shows between the markers: the table, then the domain events' examples. */
export function renderEventCatalogue(catalogue: readonly EventTypeDoc[] = EVENT_CATALOGUE): string {
  const lines: string[] = ['| event type | when |', '|---|---|'];
  for (const doc of catalogue) {
    const type = doc.domain ? `**\`${doc.type}\`**` : `\`${doc.type}\``;
    lines.push(`| ${type} | ${cell(doc.description)} |`);
  }
  lines.push(
    '',
    'Domain events (**bold** above) come in addition to the `.updated` or lifecycle event of the same change.',
    'Example deliveries (`object` shortened to the fields that matter; `GET /v1/event-types` has them whole):',
    '',
  );
  for (const doc of catalogue.filter((d) => d.domain)) {
    lines.push(
      '<details>',
      `<summary><code>${doc.type}</code></summary>`,
      '',
      '```json',
      JSON.stringify(shortened(doc.example), null, 2),
      '```',
      '',
      '</details>',
    );
  }
  return lines.join('\n');
}

/** The example with `object` cut to its id and the fields that changed. */
function shortened(example: EventTypeDoc['example']): EventTypeDoc['example'] {
  const { object, previous_attributes } = example.data;
  const keep = new Set(['id', ...Object.keys(previous_attributes ?? {})]);
  const short = Object.fromEntries(Object.entries(object).filter(([k]) => keep.has(k)));
  return { ...example, data: { ...example.data, object: { ...short, '…': 'the rest of the record as the source returned it' } } };
}

/** Markdown text with the block between the markers replaced. @throws if the markers are missing. */
export function withCatalogue(markdown: string, block = renderEventCatalogue()): string {
  const start = markdown.indexOf(CATALOGUE_START);
  const end = markdown.indexOf(CATALOGUE_END);
  if (start < 0 || end < start) throw new Error(`docs/events.md lacks the ${CATALOGUE_START} … ${CATALOGUE_END} markers`);
  return `${markdown.slice(0, start + CATALOGUE_START.length)}\n${block}\n${markdown.slice(end)}`;
}

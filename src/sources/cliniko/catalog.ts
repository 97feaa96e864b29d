import type { SourceRecord } from '../types.js';
import { domainEventsOf } from './domain-events.js';
import { CLINIKO_EXAMPLES, CLINIKO_UPDATE_EXAMPLES } from './examples.js';
import { CLINIKO_RESOURCES, type ClinikoResource } from './resources.js';
import type { EventEnvelope } from '../../events/envelope.js';

/** One event type as the catalogue documents it. */
export interface EventTypeDoc {
  type: string;
  description: string;
  /** A delivery body as the receiver gets it. */
  example: EventEnvelope;
  /** Source and resource path it belongs to. */
  source: string;
  resource: string;
  /** True for the moments derived from field transitions (in addition to `.updated`). */
  domain: boolean;
}

const DETECTED_AT = '2026-11-23T06:50:01.123Z';
const EARLIER = '2026-11-20T01:02:03Z';
const NOW = '2026-11-23T06:50:00Z';

const article = (label: string) => (/^[aeiou]/i.test(label) ? 'An' : 'A');

/** The generic description of a lifecycle or change kind for a resource. */
function genericDescription(r: ClinikoResource, kind: string): string {
  const A = `${article(r.label)} ${r.label}`;
  switch (kind) {
    case 'created':
      return `A new ${r.label} (an id the bridge had not seen before).`;
    case 'updated':
      return `Any field of ${A.toLowerCase()} changed, and no lifecycle column changed with it.`;
    case 'cancelled':
      return `${A} was cancelled (\`cancelled_at\` set; \`cancellation_reason\` and \`cancellation_note\` tell why). Clearing it again is a plain \`.updated\`.`;
    case 'archived':
      return `${A} was archived (\`archived_at\` set).`;
    case 'unarchived':
      return `An archived ${r.label} was restored (\`archived_at\` cleared).`;
    case 'deleted':
      return r.deletions === 'list'
        ? `${A} was deleted (\`deleted_at\`, found through \`/${r.path}/deleted\`).`
        : r.deletions === 'filter'
          ? `${A} was deleted (\`deleted_at\`, found through the \`deleted_at\` filter).`
          : `${A} is gone from Cliniko, which deletes these outright (found by re-reading the whole list; \`deleted_at\` is when the bridge noticed).`;
    default:
      return `${A}: ${kind}.`;
  }
}

function exampleOf(
  r: ClinikoResource,
  type: string,
  object: Record<string, unknown>,
  previous?: Record<string, unknown>,
  extra?: Record<string, unknown>,
) {
  return {
    id: 'evt_01KAPZ6M3X8Q3J9V4T7R2N5B1C',
    type,
    timestamp: DETECTED_AT,
    data: {
      source: 'cliniko',
      resource: r.name,
      id: String(object.id),
      object,
      ...(previous ? { previous_attributes: previous } : {}),
      ...extra,
    },
  };
}

/** The example of a generic kind: the record after, and the fields that changed before. */
function genericExample(r: ClinikoResource, kind: string): EventTypeDoc['example'] {
  const base = CLINIKO_EXAMPLES[r.path] ?? { id: '1000000000000000001', created_at: EARLIER, updated_at: NOW };
  const type = `${r.name}.${kind}`;
  const before = { updated_at: EARLIER };
  switch (kind) {
    case 'created':
      return exampleOf(r, type, { ...base, created_at: NOW });
    case 'updated':
      return exampleOf(r, type, base, { ...(CLINIKO_UPDATE_EXAMPLES[r.path] ?? {}), ...before });
    case 'cancelled':
      return exampleOf(
        r,
        type,
        { ...base, cancelled_at: NOW, cancellation_reason: 40, cancellation_note: 'Away for work' },
        { cancelled_at: null, cancellation_reason: null, cancellation_note: null, ...before },
      );
    case 'archived':
      return exampleOf(r, type, { ...base, archived_at: NOW }, { archived_at: null, ...before });
    case 'unarchived':
      return exampleOf(r, type, { ...base, archived_at: null }, { archived_at: '2026-11-21T04:00:00Z', ...before });
    case 'deleted':
      return exampleOf(r, type, { ...base, deleted_at: NOW }, { deleted_at: null, ...(r.deletions === 'absent' ? {} : before) });
    default:
      return exampleOf(r, type, base);
  }
}

/** Every Cliniko event type: per resource the generic ones, then its domain events. */
export function clinikoEventTypes(): EventTypeDoc[] {
  const docs: EventTypeDoc[] = [];
  for (const r of CLINIKO_RESOURCES) {
    const kinds = ['created', 'updated', ...r.lifecycle.flatMap((l) => (l.cleared ? [l.set, l.cleared] : [l.set]))];
    for (const kind of kinds) {
      docs.push({
        type: `${r.name}.${kind}`,
        description: r.descriptions?.[kind] ?? genericDescription(r, kind),
        example: genericExample(r, kind),
        source: 'cliniko',
        resource: r.path,
        domain: false,
      });
    }
    for (const d of domainEventsOf(r.path)) {
      const base = CLINIKO_EXAMPLES[r.path] ?? {};
      const previous: SourceRecord = { id: '1000000000000000001', ...base, ...d.example.before, updated_at: EARLIER };
      const current: SourceRecord = { id: '1000000000000000001', ...base, ...d.example.after, updated_at: NOW };
      const changed = Object.keys(current).filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(current[k]));
      const prevAttrs = Object.fromEntries(changed.map((k) => [k, previous[k] ?? null]));
      const extra = d.derive(previous, current, new Set(changed)) ?? {};
      docs.push({
        type: `${r.name}.${d.kind}`,
        description: d.description,
        example: exampleOf(r, `${r.name}.${d.kind}`, current, prevAttrs, extra),
        source: 'cliniko',
        resource: r.path,
        domain: true,
      });
    }
  }
  return docs;
}

import { EVENT_CATALOGUE } from '../catalog/index.js';

const KNOWN = new Set(EVENT_CATALOGUE.map((d) => d.type));
const PREFIXES = new Set(EVENT_CATALOGUE.map((d) => d.type.slice(0, d.type.indexOf('.') + 1)));

/**
 * Whether an event type pattern can ever match (`*`, a catalogued type, or `resource.*` of a
 * catalogued resource), so a typo such as `individual_appointment.canceled` is refused instead of
 * silently receiving nothing.
 */
export function knownEventPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return PREFIXES.has(pattern.slice(0, -1));
  return KNOWN.has(pattern);
}

/** A 400 message for an unknown pattern, naming the catalogued types of the same resource. */
export function unknownEventPatternMessage(pattern: string): string {
  const prefix = pattern.slice(0, pattern.indexOf('.') + 1);
  const near = [...KNOWN].filter((t) => prefix && t.startsWith(prefix)).slice(0, 12);
  return `${pattern} is not an event type the bridge emits${near.length ? `; ${prefix.slice(0, -1)} has: ${near.join(', ')}` : ' (GET /v1/event-types lists them)'}`;
}

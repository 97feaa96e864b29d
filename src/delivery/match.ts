/**
 * Whether a subscription's `event_types` select an event type. Patterns: `*` (everything), an
 * exact type (`contact.updated`), or a prefix ending in `.*` (`attendee.*` matches
 * `attendee.cancelled`, not `attendee_x.created`).
 */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/** Shape accepted for a pattern: `*`, `resource.kind`, or `resource.*` (lower case, digits, `_`). */
export const EVENT_TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*))$/;

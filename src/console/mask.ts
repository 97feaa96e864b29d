/**
 * Hides record values (patient data) in an event body for display: every value under `data` except
 * ids, times, links and the event's own addressing (`source`, `resource`, `id`). Keys stay visible, so
 * a reader sees which fields an event carries without seeing what they hold.
 */
export const MASK = '••••••';

const KEEP_KEY = /^(id|.*_id|.*_at|links|source|resource|changed_fields)$/;

function maskValue(value: unknown, key: string): unknown {
  if (KEEP_KEY.test(key)) return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, ''));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, k)]));
  if (value === null) return null;
  return MASK;
}

/** A copy of an event body with its `data` values masked. */
export function maskEvent<T extends { data: Record<string, unknown> }>(payload: T): T {
  return { ...payload, data: Object.fromEntries(Object.entries(payload.data).map(([k, v]) => [k, maskValue(v, k)])) };
}

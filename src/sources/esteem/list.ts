import { UpstreamError } from '../errors.js';
import type { SourceRecord } from '../types.js';

/** Keys an object-shaped list response may hold its array under, most likely first. */
const LIST_KEYS = ['appointments', 'data', 'results', 'items', 'records'] as const;

/**
 * The appointments of a list response. The API document does not show the list shape, so both are
 * accepted: a bare array, or an object holding one (`{ "appointments": [...] }`, `{ "data": [...] }`,
 * or any object with exactly one array-valued field, e.g. next to a `meta` object).
 * @throws UpstreamError `malformed` for anything else, or an item without a usable id.
 */
export function parseAppointmentList(body: unknown, what: string): SourceRecord[] {
  const list = listOf(body);
  if (!list) throw new UpstreamError({ kind: 'malformed', message: `${what}: expected an array of appointments or an object holding one` });
  return list.map((item) => normaliseAppointment(item, what));
}

function listOf(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return undefined;
  const obj = body as Record<string, unknown>;
  for (const key of LIST_KEYS) if (Array.isArray(obj[key])) return obj[key] as unknown[];
  const arrays = Object.values(obj).filter(Array.isArray);
  return arrays.length === 1 ? (arrays[0] as unknown[]) : undefined;
}

/**
 * Esteem ids are integers; the bridge carries every id as a string (`SourceRecord.id`). The rest of
 * the object stays as Esteem returned it (`patient_id` and `provider_id` remain numbers).
 */
export function normaliseAppointment(item: unknown, what: string): SourceRecord {
  if (!item || typeof item !== 'object' || Array.isArray(item))
    throw new UpstreamError({ kind: 'malformed', message: `${what}: an item is not an object` });
  const record = item as Record<string, unknown>;
  const id = record.id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return { ...record, id: String(id) };
  if (typeof id === 'string' && /^\d+$/.test(id)) return { ...record, id };
  throw new UpstreamError({ kind: 'malformed', message: `${what}: an appointment without a usable id (${JSON.stringify(id)})` });
}

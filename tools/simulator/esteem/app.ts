import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { DEFAULT_RETRY_AFTER_SECONDS, type FaultQueue } from '../faults.js';
import { parseInstant } from '../time.js';
import { DAY_MS, normalise, type EsteemAccount, type EsteemAppointment } from './account.js';

/** One served request, as logged in `EsteemSimulator.served`. */
export interface EsteemServedInfo {
  method: string;
  path: string;
  search: string;
  /** The query parameters, e.g. `{ start_date: '2026-03-03', end_date: '2026-03-10' }`. */
  query: Record<string, string>;
  status: number;
  /** For list responses: how many appointments it held. */
  count?: number;
}

/** How list endpoints answer: a bare array, or `{ "appointments": [...] }` (plus `meta` when paged). */
export type ListShape = 'array' | 'object';

export interface EsteemAppDeps {
  account: EsteemAccount;
  /** The token `X-User-Token` must equal; read on every request so tests can revoke it. */
  token: () => string;
  listShape: () => ListShape;
  /** Widest `end_date − start_date` one `in_date_range` request may ask for, in days. */
  maxRangeDays: number;
  faults: FaultQueue;
  onServed(info: EsteemServedInfo): void;
  onReschedule(entry: { id: number; reason: string | null }): void;
}

const BASE = '/v1/clinic/appointments';
const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;
const UNAUTHORIZED = 'You are not authorized to perform this action.';

/** A JSON error in the API's shapes: `{ "errors": "…" }` or `{ "errors": { "field": ["…"] } }`. */
class EsteemHttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 422,
    readonly errors: string | Record<string, string[]>,
  ) {
    super(typeof errors === 'string' ? errors : JSON.stringify(errors));
  }
}

/**
 * The Clinic Appointments API as the seed documents it: `X-User-Token` auth, `in_date_range`,
 * `pending_documentation` (paged) and `reschedule_appointments/{id}`, with injected faults.
 */
export function createEsteemApp(deps: EsteemAppDeps): Hono {
  const { account } = deps;
  const app = new Hono();
  const counts = new WeakMap<Request, number>();

  app.use('*', servedLog(deps, counts));
  app.use('/v1/*', async (c, next) => {
    if (c.req.header('X-User-Token') !== deps.token()) return c.json({ errors: UNAUTHORIZED }, 401);
    await next();
  });
  app.use('/v1/*', faults(deps));

  app.get(`${BASE}/in_date_range`, (c) => {
    const q = c.req.query();
    const errors: Record<string, string[]> = {};
    const start = dateParam(q.start_date, 'start_date', errors);
    const end = dateParam(q.end_date, 'end_date', errors);
    const provider = integerParam(q.provider_id, 'provider_id', errors);
    const patient = integerParam(q.patient_id, 'patient_id', errors);
    if (start && end && end.fromMs < start.fromMs) errors.end_date = ['must be on or after start_date'];
    else if (start && end && end.fromMs - start.fromMs > deps.maxRangeDays * DAY_MS) {
      errors.end_date = [`must be at most ${deps.maxRangeDays} days after start_date`];
    }
    if (Object.keys(errors).length > 0 || !start || !end) throw new EsteemHttpError(422, errors);
    const rows = account.inRange(start.fromMs, end.untilMs, { provider_id: provider, patient_id: patient });
    counts.set(c.req.raw, rows.length);
    return c.json(deps.listShape() === 'array' ? rows : { appointments: rows });
  });

  app.get(`${BASE}/pending_documentation`, (c) => {
    const q = c.req.query();
    const errors: Record<string, string[]> = {};
    const page = integerParam(q.page, 'page', errors) ?? 1;
    const pageSize = integerParam(q.page_size, 'page_size', errors) ?? DEFAULT_PAGE_SIZE;
    if (!errors.page && page < 1) errors.page = ['must be greater than 0'];
    if (!errors.page_size && (pageSize < 1 || pageSize > MAX_PAGE_SIZE)) errors.page_size = [`must be between 1 and ${MAX_PAGE_SIZE}`];
    if (Object.keys(errors).length > 0) throw new EsteemHttpError(422, errors);
    const all = account.pendingList();
    const rows = all.slice((page - 1) * pageSize, page * pageSize);
    counts.set(c.req.raw, rows.length);
    return c.json(
      deps.listShape() === 'array' ? rows : { appointments: rows, meta: { page, page_size: pageSize, total_count: all.length } },
    );
  });

  app.put(`${BASE}/reschedule_appointments/:id`, async (c) => {
    const id = c.req.param('id');
    const appointment = /^\d+$/.test(id) ? account.find(Number(id)) : undefined;
    if (!appointment) throw new EsteemHttpError(404, 'Appointment not found');
    const body = await jsonBody(c);
    const changes = body.appointment;
    if (!changes || typeof changes !== 'object' || Array.isArray(changes)) throw new EsteemHttpError(422, { appointment: ['is missing'] });
    const patch = validateReschedule(changes as Record<string, unknown>, appointment, account);
    account.update(appointment.id, patch);
    const reason = (changes as { reason?: unknown }).reason;
    deps.onReschedule({ id: appointment.id, reason: typeof reason === 'string' ? reason : null });
    return c.json(appointment);
  });

  app.notFound((c) => c.json({ errors: 'Not found' }, 404));
  app.onError((err, c) => {
    if (err instanceof EsteemHttpError) return c.json({ errors: err.errors }, err.status);
    console.error('esteem simulator: unexpected error', err);
    return c.json({ errors: 'Internal server error' }, 500);
  });
  return app;
}

function validateReschedule(
  changes: Record<string, unknown>,
  appointment: EsteemAppointment,
  account: EsteemAccount,
): Partial<Pick<EsteemAppointment, 'scheduled_at' | 'provider_id'>> {
  const errors: Record<string, string[]> = {};
  const patch: Partial<Pick<EsteemAppointment, 'scheduled_at' | 'provider_id'>> = {};
  if ('scheduled_at' in changes) {
    const v = changes.scheduled_at;
    if (v === null || v === undefined || v === '') errors.scheduled_at = ["can't be blank"];
    else if (typeof v !== 'string' || parseInstant(v) === undefined) errors.scheduled_at = ['is not a valid datetime'];
    else patch.scheduled_at = normalise(v);
  }
  if ('provider_id' in changes) {
    const v = changes.provider_id;
    if (typeof v !== 'number' || !account.providers.has(v)) errors.provider_id = ['must exist'];
    else patch.provider_id = v;
  }
  if (!('scheduled_at' in changes) && !('provider_id' in changes)) errors.scheduled_at = ["can't be blank"];
  if (appointment.status === 'cancelled') errors.base = ['a cancelled appointment cannot be rescheduled'];
  if (Object.keys(errors).length > 0) throw new EsteemHttpError(422, errors);
  return patch;
}

/**
 * `start_date` / `end_date`: a date (`2023-10-01`, the whole UTC day) or a date-time (that instant).
 * Returns the first instant it names and the instant after its end.
 */
function dateParam(
  value: string | undefined,
  name: string,
  errors: Record<string, string[]>,
): { fromMs: number; untilMs: number } | undefined {
  if (value === undefined || value.trim() === '') {
    errors[name] = ["can't be blank"];
    return undefined;
  }
  const ms = parseInstant(value.trim());
  if (ms === undefined) {
    errors[name] = ['is not a valid date'];
    return undefined;
  }
  return { fromMs: ms, untilMs: /^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? ms + DAY_MS : ms + 1 };
}

function integerParam(value: string | undefined, name: string, errors: Record<string, string[]>): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    errors[name] = ['is not a number'];
    return undefined;
  }
  return Number(value);
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the 400 below.
  }
  throw new EsteemHttpError(400, 'Request body must be a JSON object');
}

function servedLog(deps: EsteemAppDeps, counts: WeakMap<Request, number>): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const url = new URL(c.req.url);
    const count = counts.get(c.req.raw);
    const info: EsteemServedInfo = {
      method: c.req.method,
      path: url.pathname,
      search: url.search,
      query: Object.fromEntries(url.searchParams),
      status: c.res.status,
      ...(count === undefined ? {} : { count }),
    };
    try {
      deps.onServed(info);
    } catch (err) {
      // A failing test hook must not turn into a 500 the client would then retry.
      console.error('esteem simulator: afterResponse hook threw', err);
    }
  };
}

/** Injected faults after authentication, consumed in injection order (tools/simulator/faults.ts). */
function faults(deps: EsteemAppDeps): MiddlewareHandler {
  return async (c, next) => {
    const fault = deps.faults.take(new URL(c.req.url).pathname);
    if (!fault) return next();
    if (fault.delayMs && fault.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.status === 429) {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS);
      return c.json({ errors: 'Rate limit exceeded' }, 429, headers);
    }
    if (fault.status !== undefined) {
      const headers: Record<string, string> = {};
      if (fault.status === 503 && fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      return c.json({ errors: `Injected fault: HTTP ${fault.status}` }, fault.status as 500, headers);
    }
    if (fault.malformed) return c.body('[{"id": 123, "patient_id": 10', 200, { 'Content-Type': 'application/json' });
    return next();
  };
}

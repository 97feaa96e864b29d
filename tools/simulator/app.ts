import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { HTTPException } from 'hono/http-exception';
import type { SimAccount } from './account.js';
import { SimHttpError } from './errors.js';
import { DEFAULT_RETRY_AFTER_SECONDS, type FaultQueue, type FaultSpec } from './faults.js';
import { parseFilter, type Filter } from './filters.js';
import { filterColumns, type ListKind } from './list.js';
import { pageLinks, parsePaging } from './pagination.js';
import type { FixedWindowRateLimit, RateLimitState } from './rate-limit.js';
import { CANCELLATION_REASONS, type SimRecord } from './records.js';
import { isSimResource, RESOURCE_SPECS, type SimResource } from './resources.js';
import { parseSort } from './sorting.js';

/** One served request, as logged in `ClinikoSimulator.served`. */
export interface ServedInfo {
  /** When it was served, by the simulator's clock (ms). */
  at: number;
  method: string;
  path: string;
  search: string;
  status: number;
  resource?: string;
  /** For list responses: the page served and how many records it held. */
  page?: number;
  count?: number;
}

export interface AppDeps {
  account: SimAccount;
  apiKey: string;
  /** Undefined when rate limiting is off. */
  limiter: FixedWindowRateLimit | undefined;
  faults: FaultQueue;
  now: () => number;
  /** Called synchronously once a response is computed, before it is sent. */
  onServed(info: ServedInfo): void;
  /** Resources the key has no permission for: every request under them gets a 403. */
  forbidden: ReadonlySet<string>;
  /** Server time of every authenticated request, waited before it is answered (none when absent). */
  latency?: { ms: number; sleep: (ms: number) => Promise<void>; onWait: (delta: 1 | -1) => void };
}

// What a list handler adds to the served log, keyed by the request being served.
type ListInfo = Pick<ServedInfo, 'page' | 'count'>;

// `Name (email@host.tld)`, as Cliniko asks of every request (README "Making a request").
const USER_AGENT = /^\S.*\(\s*[^\s@()]+@[^\s@()]+\.[^\s@()]+\s*\)\s*$/;

/**
 * The Cliniko API v1 routes the simulator serves under `/v1` (Cliniko API docs): Basic auth with
 * the key as username, a vendor `User-Agent`, per-key rate limit, injected faults, paged lists
 * (live and the old `/deleted`, `/cancelled`, `/archived`), single records and small writes.
 */
export function createApp(deps: AppDeps): Hono {
  const { account } = deps;
  const app = new Hono();
  const listInfo = new WeakMap<Request, ListInfo>();

  app.use('*', servedLog(deps, listInfo));
  app.use(
    '/v1/*',
    basicAuth({
      verifyUser: (username, password) => username === deps.apiKey && password === '',
      invalidUserMessage: { message: 'Unauthorized: invalid or missing API key' },
    }),
  );
  app.use('/v1/*', async (c, next) => {
    if (!USER_AGENT.test(c.req.header('User-Agent') ?? '')) {
      return c.json({ message: 'Forbidden: User-Agent must be "APP_VENDOR_NAME (APP_VENDOR_EMAIL)"' }, 403);
    }
    await next();
  });
  app.use('/v1/*', limitsAndFaults(deps));
  if (deps.latency && deps.latency.ms > 0) {
    const { ms, sleep: wait, onWait } = deps.latency;
    app.use('/v1/*', async (_c, next) => {
      onWait(1);
      try {
        await wait(ms);
      } finally {
        onWait(-1);
      }
      await next();
    });
  }
  app.use('/v1/:resource/*', permission(deps));
  app.use('/v1/:resource', permission(deps));

  app.get('/v1/:resource', list('live'));
  app.get('/v1/:resource/deleted', list('deleted'));
  app.get('/v1/:resource/cancelled', list('cancelled'));
  app.get('/v1/:resource/archived', list('archived'));
  app.get('/v1/:resource/inactive', list('inactive'));
  app.get('/v1/:resource/:id{[0-9]+}/attendees', list('live', 'attendees'));
  app.get('/v1/:resource/:id{[0-9]+}', (c) => c.json(found(c)));

  app.post('/v1/:resource', async (c) => {
    const resource = resourceOf(c);
    const body = await jsonBody(c);
    validateCreate(resource, body);
    const record = account.create(resource, body, { randomize: false });
    return c.json(record, 201, { Location: String((record.links as { self: string }).self) });
  });
  const update = async (c: Context) => {
    const record = found(c);
    return c.json(account.update(resourceOf(c), record.id, await jsonBody(c)));
  };
  app.put('/v1/:resource/:id{[0-9]+}', update);
  app.patch('/v1/:resource/:id{[0-9]+}', update);
  app.delete('/v1/:resource/:id{[0-9]+}', (c) => {
    account.remove(resourceOf(c), found(c).id);
    return c.body(null, 204);
  });
  app.patch('/v1/:resource/:id{[0-9]+}/cancel', async (c) => {
    const resource = resourceOf(c);
    if (resource !== 'attendees' && resource !== 'individual_appointments') throw notFound();
    const id = found(c).id;
    const body = await jsonBody(c);
    const reason = Number(body.cancellation_reason);
    if (body.cancellation_reason == null || !(reason in CANCELLATION_REASONS)) {
      throw new SimHttpError(422, 'Validation Failed', { cancellation_reason: 'is not included in the list' });
    }
    const note = typeof body.cancellation_note === 'string' ? body.cancellation_note : undefined;
    account.cancel(resource, id, reason, note);
    return c.body(null, 204);
  });
  for (const [action, apply] of [
    ['archive', (r: SimResource, id: string) => account.archive(r, id)],
    ['unarchive', (r: SimResource, id: string) => account.unarchive(r, id)],
  ] as const) {
    // The current spec archives with POST, older docs with PATCH.
    app.on(['POST', 'PATCH'], `/v1/:resource/:id{[0-9]+}/${action}`, (c) => {
      apply(resourceOf(c), found(c).id);
      return c.body(null, 204);
    });
  }

  app.notFound((c) => c.json({ message: 'Not found' }, 404));
  app.onError((err, c) => {
    if (err instanceof SimHttpError) return c.json(err.body(), err.status);
    if (err instanceof HTTPException) return err.getResponse();
    console.error('simulator: unexpected error', err);
    return c.json({ message: 'Internal server error' }, 500);
  });
  return app;

  function list(kind: ListKind, nestedUnder?: 'attendees') {
    return (c: Context) => {
      const url = new URL(c.req.url);
      let resource = resourceOf(c);
      const extra: Filter[] = [];
      if (nestedUnder) {
        // `/individual_appointments/:id/attendees` lists that appointment's attendees (Cliniko API docs, Attendees).
        if (resource !== 'individual_appointments' && resource !== 'group_appointments') throw notFound();
        found(c);
        resource = nestedUnder;
        extra.push(parseFilter(`booking_id:=${c.req.param('id') ?? ''}`, RESOURCE_SPECS.attendees.columns));
      }
      const spec = RESOURCE_SPECS[resource];
      if (kind !== 'live' && !spec.oldLists.includes(kind)) throw notFound();
      const paging = parsePaging(url.searchParams);
      const columns = filterColumns(spec, kind);
      const expressions = [...url.searchParams.getAll('q[]'), ...url.searchParams.getAll('q')];
      const filters = [...expressions.map((e) => parseFilter(e, columns)), ...extra];
      const sort = parseSort(optional(url, 'sort'), optional(url, 'order'), spec.columns);

      const { rows: pageRows, total } = account.listPage(resource, {
        kind,
        filters,
        sort,
        offset: (paging.page - 1) * paging.perPage,
        limit: paging.perPage,
      });
      // The old patients/deleted list returns only ids and deletion times (Cliniko API docs).
      const items =
        kind === 'deleted' && resource === 'patients'
          ? pageRows.map((r) => ({ id: r.id, deleted_at: r.deleted_at, links: r.links }))
          : spec.union
            ? pageRows.map((r) => ({ ...r, links: { self: `${account.base}/${resource}/${r.id}` } }))
            : pageRows;
      listInfo.set(c.req.raw, { page: paging.page, count: pageRows.length });
      return c.json({ [resource]: items, total_entries: total, links: pageLinks(url, paging, total) });
    };
  }

  function found(c: Context): SimRecord {
    const resource = resourceOf(c);
    const id = c.req.param('id') ?? '';
    const record = account.find(resource, id);
    if (!record) throw new SimHttpError(404, `Couldn't find ${resource} with id ${id}`);
    return record;
  }
}

/** 403 for a resource the key may not read (a user without that permission in Cliniko). */
function permission(deps: AppDeps): MiddlewareHandler {
  return async (c, next) => {
    const resource = c.req.param('resource') ?? '';
    if (deps.forbidden.has(resource)) {
      return c.json({ message: 'Forbidden: you do not have permission to access this resource' }, 403);
    }
    await next();
  };
}

/** Logs every request (also 401s, 404s and faults) and runs the `afterResponse` hook. */
function servedLog(deps: AppDeps, listInfo: WeakMap<Request, ListInfo>): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const url = new URL(c.req.url);
    const segment = url.pathname.split('/')[2] ?? '';
    const info: ServedInfo = {
      at: deps.now(),
      method: c.req.method,
      path: url.pathname,
      search: url.search,
      status: c.res.status,
      ...(isSimResource(segment) ? { resource: segment } : {}),
      ...listInfo.get(c.req.raw),
    };
    try {
      deps.onServed(info);
    } catch (err) {
      // A failing test hook must not turn into a 500 the client would then retry.
      console.error('simulator: afterResponse hook threw', err);
    }
  };
}

/**
 * Per-key rate limit and injected faults, after authentication. Injected 429s do not count against
 * the window; every other authenticated request does. Faults are consumed in injection order.
 */
function limitsAndFaults(deps: AppDeps): MiddlewareHandler {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    const nowSeconds = () => Math.floor(deps.now() / 1000);
    if (deps.faults.peek(path)?.status === 429) {
      const fault = deps.faults.take(path) as FaultSpec;
      await sleep(fault.delayMs);
      const retry = fault.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
      const headers: Record<string, string> = {
        ...limitHeaders(deps.limiter?.peek(deps.apiKey)),
        'X-RateLimit-Reset': String(nowSeconds() + retry),
      };
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(retry);
      return c.json({ message: 'Rate limit exceeded' }, 429, headers);
    }

    const state = deps.limiter?.hit(deps.apiKey);
    if (state && !state.allowed) {
      return c.json({ message: 'Rate limit exceeded' }, 429, limitHeaders(state));
    }

    const fault = deps.faults.take(path);
    if (fault) {
      await sleep(fault.delayMs);
      if (fault.status !== undefined) {
        const headers = limitHeaders(state);
        if (fault.status === 503 && fault.retryAfterSeconds !== undefined) {
          headers['Retry-After'] = String(fault.retryAfterSeconds);
          headers['X-RateLimit-Reset'] = String(nowSeconds() + fault.retryAfterSeconds);
        }
        return c.json({ message: fault.message ?? `Injected fault: HTTP ${fault.status}` }, fault.status as 500, headers);
      }
      if (fault.malformed) {
        const resource = path.split('/')[2] || 'data';
        return c.body(`{"${resource}": [{"id": "1",`, 200, { ...limitHeaders(state), 'Content-Type': 'application/json' });
      }
    }

    await next();
    for (const [name, value] of Object.entries(limitHeaders(state))) c.header(name, value);
  };
}

function limitHeaders(state: RateLimitState | undefined): Record<string, string> {
  if (!state) return {};
  return {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
    'X-RateLimit-Reset': String(state.resetSeconds),
  };
}

function resourceOf(c: Context): SimResource {
  const resource = c.req.param('resource') ?? '';
  if (!isSimResource(resource)) throw notFound();
  return resource;
}

function notFound(): SimHttpError {
  return new SimHttpError(404, 'Not found');
}

function optional(url: URL, name: string): string | undefined {
  return url.searchParams.get(name) ?? undefined;
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the 400 below.
  }
  throw new SimHttpError(400, 'Request body must be a JSON object');
}

// Fields a create needs, so manual use gets Cliniko's 422 shape (Cliniko API docs).
const REQUIRED_ON_CREATE: Readonly<Partial<Record<SimResource, readonly string[]>>> = {
  patients: ['first_name', 'last_name'],
  contacts: ['first_name', 'last_name'],
  individual_appointments: ['patient_id', 'starts_at'],
  group_appointments: ['starts_at'],
  attendees: ['booking_id', 'patient_id'],
  invoice_items: ['invoice_id'],
  medical_alerts: ['name', 'patient_id'],
  patient_cases: ['name', 'patient_id'],
  patient_forms: ['patient_id'],
  treatment_notes: ['patient_id'],
  unavailable_blocks: ['starts_at', 'practitioner_id', 'business_id'],
  taxes: ['name', 'amount'],
};

function validateCreate(resource: SimResource, body: Record<string, unknown>): void {
  const errors: Record<string, string> = {};
  for (const field of REQUIRED_ON_CREATE[resource] ?? []) {
    if (body[field] === undefined || body[field] === null || body[field] === '') errors[field] = "can't be blank";
  }
  if (Object.keys(errors).length > 0) throw new SimHttpError(422, 'Validation Failed', errors);
}

async function sleep(ms: number | undefined): Promise<void> {
  if (ms && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

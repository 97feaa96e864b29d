import { validate as validateOpenApi, compileErrors } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsteemSimulator } from '../tools/simulator/esteem/index.js';
import { ATTEMPT_ERRORS } from '../src/delivery/attempt-errors.js';
import { SCOPES } from '../src/store/schema.js';
import { daysFromNow } from './helpers/esteem-harness.js';
import { Harness, waitFor } from './helpers/harness.js';

/**
 * The admin API against its own description (issue "Zapier REST hooks, an OpenAPI-described admin
 * API…", OpenAPI and docs): `GET /openapi.json` is valid OpenAPI 3.1, documents every route the
 * app serves, every example in it validates against its schema, and every answer a real bridge gives
 * on a tour of every operation matches the documented status and schema.
 */

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: Record<string, any> };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Served outside the document on purpose: the document itself, the page that renders it, and the web console (HTML, not JSON). */
const UNDOCUMENTED = [/^\/openapi\.json$/, /^\/docs(\/|$)/, /^\/console(\/|$)/];
const ESTEEM_TOKEN = 'openapi-test-esteem-token';
/** Keys whose values map names to schemas or objects. */
const MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'schemas',
  'responses',
  'content',
  'securitySchemes',
  'parameters',
  'headers',
]);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** A validator for a schema of the document; `$ref`s resolve against its components. */
function compile(doc: Doc, schema: object): ValidateFunction {
  return ajv.compile({ ...schema, components: doc.components });
}

/** Every `example` in the document, with the schema it must satisfy and where it is. */
function examplesOf(doc: Doc): Array<{ where: string; schema: object; example: unknown }> {
  const found: Array<{ where: string; schema: object; example: unknown }> = [];
  // `named`: a map of names to schemas (`properties`, `paths`, `schemas`, …), where a key called
  // `example` is a name, not an example.
  const walk = (node: unknown, where: string, named = false) => {
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (!named && 'example' in obj) {
      // A media type or parameter carries its example next to `schema`; a schema carries its own.
      const { example, ...rest } = obj;
      const schema = 'schema' in obj && !('type' in obj) ? (obj.schema as object) : rest;
      found.push({ where, schema, example });
    }
    for (const [key, value] of Object.entries(obj)) {
      if (named || key !== 'example') walk(value, `${where}/${key}`, !named && MAPS.has(key));
    }
  };
  walk(doc.paths, '#/paths', true);
  walk(doc.components, '#/components', true);
  return found;
}

/**
 * The document with every object closed (`additionalProperties: false` where it says nothing):
 * answers are checked against this, so a field served but not documented fails. Clients are not
 * told objects are closed; new fields may come. (Objects are plain, never `allOf`: src/http/schemas.ts.)
 */
function closed(doc: Doc): Doc {
  const copy = structuredClone(doc);
  const close = (node: any): void => {
    if (!node || typeof node !== 'object') return;
    if (node.allOf) throw new Error('allOf in the document: closing it would reject valid answers');
    if (node.properties && node.additionalProperties === undefined) node.additionalProperties = false;
    for (const value of Object.values(node)) close(value);
  };
  close(copy.components);
  close(copy.paths);
  return copy;
}

/** Examples that do not validate, checked against the closed document (a misspelt field fails too). */
function invalidExamples(doc: Doc): string[] {
  const strict = closed(doc);
  return examplesOf(strict).flatMap(({ where, schema, example }) => {
    const check = compile(strict, schema);
    return check(example) ? [] : [`${where}: ${ajv.errorsText(check.errors)}`];
  });
}

/** The documented operation a concrete request path matches, e.g. `/v1/subscriptions/sub_1` → `/v1/subscriptions/{id}`. */
function operationFor(doc: Doc, method: string, path: string): { template: string; operation: any } | undefined {
  const bare = path.split('?')[0]!;
  for (const [template, item] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(bare) && item[method.toLowerCase()]) return { template, operation: item[method.toLowerCase()] };
  }
  return undefined;
}

describe('GET /openapi.json', () => {
  let h: Harness;
  let esteem: EsteemSimulator;
  let doc: Doc;
  let strict: Doc;
  /** `METHOD /template` → statuses seen on the tour. */
  const seen = new Map<string, Set<number>>();
  const mismatches: string[] = [];

  /** An admin call whose answer must be one the document declares, with a body of the declared schema. */
  async function call(method: string, path: string, body?: unknown, token?: string | null, contentType?: string) {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token ?? h.adminToken}`;
    if (body !== undefined || contentType) headers['content-type'] = contentType ?? 'application/json';
    const raw = await fetch(`${h.bridge.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await raw.text();
    const isJson = raw.headers.get('content-type')?.startsWith('application/json');
    const res = {
      status: raw.status,
      json: isJson && text ? JSON.parse(text) : null,
      text,
      contentType: raw.headers.get('content-type') ?? '',
    };
    const found = operationFor(doc, method, path);
    if (!found) {
      mismatches.push(`${method} ${path}: not in the document`);
      return res;
    }
    const key = `${method} ${found.template}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key)!.add(res.status);
    const response = found.operation.responses[String(res.status)];
    if (!response) {
      mismatches.push(`${key}: answered ${res.status}, documented ${Object.keys(found.operation.responses).join(', ')}`);
      return res;
    }
    const documentedTypes = Object.keys(response.content ?? {});
    if (documentedTypes.length === 0 && res.text) mismatches.push(`${key} ${res.status}: a body where none is documented`);
    if (documentedTypes.length > 0 && !documentedTypes.some((t) => res.contentType.startsWith(t))) {
      mismatches.push(`${key} ${res.status}: ${res.contentType}, documented ${documentedTypes.join(', ')}`);
    }
    // An error's code is one its description names.
    if (res.status >= 400 && res.json?.error) {
      const codes = [...String(response.description).matchAll(/`([a-z]+(?:_[a-z]+)*)`/g)].map((m) => m[1]);
      if (!codes.includes(res.json.error.code))
        mismatches.push(`${key} ${res.status}: code ${res.json.error.code}, documented ${codes.join(', ')}`);
    }
    const schema = response.content?.['application/json']?.schema;
    if (schema) {
      const check = compile(
        strict,
        strict.paths[found.template]![method.toLowerCase()].responses[String(res.status)].content['application/json'].schema,
      );
      if (!check(res.json))
        mismatches.push(`${key} ${res.status}: ${ajv.errorsText(check.errors)} in ${JSON.stringify(res.json).slice(0, 300)}`);
    }
    return res;
  }

  beforeAll(async () => {
    esteem = new EsteemSimulator({ userToken: ESTEEM_TOKEN });
    const { baseUrl } = await esteem.listen();
    h = await Harness.create({
      seed: { contacts: 2 },
      env: { BRIDGE_RESOURCES: 'contacts', ESTEEM_USER_TOKEN: ESTEEM_TOKEN, ESTEEM_BASE_URL: baseUrl },
    });
    const res = await fetch(`${h.bridge.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
    strict = closed(doc);
    // Before anything polls: 503, with the resources still waiting (part of the tour below).
    expect((await call('GET', '/readyz', undefined, null)).status).toBe(503);
  });
  afterAll(async () => {
    await h?.close();
    await esteem?.close();
  });

  it('is valid OpenAPI 3.1, served without a token', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The parser dereferences in place: give it a copy.
    const result = await validateOpenApi(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('documents exactly the attempt error codes the sender records', () => {
    const error = doc.components.schemas.Attempt.properties.error;
    expect(error.enum).toEqual([...ATTEMPT_ERRORS, null]);
    for (const code of ATTEMPT_ERRORS) expect(error.description).toContain(`\`${code}\``);
  });

  it('documents every route the admin API serves, and nothing it does not', () => {
    const served = new Set(
      h.bridge.app.routes
        .filter((r) => METHODS.includes(r.method.toLowerCase()) && !UNDOCUMENTED.some((re) => re.test(r.path)))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m} ${path}`),
      ),
    );
    expect([...served].sort()).toEqual([...documented].sort());
    // Both sources are configured, so the Esteem action is among them.
    expect(documented).toContain('post /v1/sources/esteem/appointments/{id}/reschedule');
    expect(documented.size).toBeGreaterThan(25);
  });

  it('documents for every /v1 operation the scopes it needs, and the bridge enforces exactly those', async () => {
    const every = [...SCOPES];
    const keyWith = async (scopes: string[]) =>
      (await h.api('POST', '/v1/api-keys', { name: `scope check ${scopes.length}`, scopes, subscriptions: 'all' })).json.key as string;
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(item)) {
        const what = `${method} ${path}`;
        expect(op.security, what).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), what).toEqual(expect.arrayContaining(['400', '401', '403', '429', '500']));
        const required = op['x-required-scopes'] as string[] | 'admin';
        const concrete = path.replace(/\{[^}]+\}/g, 'x');
        const answer = async (scopes: string[]) => (await h.api(method.toUpperCase(), concrete, undefined, await keyWith(scopes))).status;
        if (required === 'admin') {
          expect(await answer(every), what).toBe(403);
          continue;
        }
        expect(required.length, what).toBeGreaterThan(0);
        // Without any one of them: 403. With only them: past the scope check (some other answer).
        for (const scope of required) expect(await answer(every.filter((s) => s !== scope)), `${what} without ${scope}`).toBe(403);
        expect(await answer(required), `${what} with ${required.join(', ')}`).not.toBe(403);
      }
    }
  });

  it('has examples that validate against their schemas (and a broken one is caught)', () => {
    const examples = examplesOf(doc);
    expect(examples.length).toBeGreaterThan(40);
    expect(invalidExamples(doc)).toEqual([]);
    // Every request body a client writes has an example to start from.
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (!schema) continue;
        const target = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
        expect(target.example, `${method} ${path} request body example`).toBeDefined();
      }
    }
    // The check can fail: a wrong example is reported where it is.
    const broken = structuredClone(doc);
    broken.components.schemas.Subscription.example.status = 'paused';
    expect(invalidExamples(broken)).toEqual([expect.stringContaining('#/components/schemas/Subscription')]);
  });

  it('matches what the bridge answers on a tour of every operation', async () => {
    // Operations: unauthenticated checks.
    await call('GET', '/healthz', undefined, null);
    expect((await call('GET', '/metrics', undefined, null)).text).toContain('bridge_polls_total');

    // API keys.
    const key = await call('POST', '/v1/api-keys', {
      name: 'Zapier',
      scopes: ['subscriptions:read', 'subscriptions:write', 'events:read'],
    });
    expect(key.status).toBe(201);
    await call('GET', '/v1/api-keys');
    await call('GET', '/v1/audit', undefined, key.json.key); // 403: no audit:read
    await call('GET', '/v1/subscriptions', undefined, 'not-a-token'); // 401

    // Subscriptions, with their errors.
    await call('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['contact.udpated'] }); // 400
    await call('POST', '/v1/subscriptions', { url: 'ftp://127.0.0.1/hook' }); // 422 unsafe_url
    await call('POST', '/v1/subscriptions', `{"url":"${h.receiver.url}"}`, undefined, 'text/plain'); // 415
    expect((await call('POST', '/v1/subscriptions', { url: h.receiver.url, description: 'x'.repeat(70_000) })).status).toBe(413);
    await call('GET', '/v1/event-types', undefined, 'two words'); // 400 unauthorized: "Bearer two words" is malformed
    const created = await call('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['*'] });
    expect(created.status).toBe(201);
    const sub = created.json.id as string;
    h.receiver.secret = created.json.secret;
    await call('GET', '/v1/subscriptions');
    await call('GET', `/v1/subscriptions/${sub}`);
    await call('GET', '/v1/subscriptions/sub_unknown'); // 404
    await call('GET', `/v1/subscriptions/${sub}/secret`);
    await call('PATCH', `/v1/subscriptions/${sub}`, { description: 'tour', headers: { 'X-Tour': 'yes' } });
    await call('POST', `/v1/subscriptions/${sub}/secret/rotate`, { grace_period_seconds: 3600 });
    // Optional bodies may be left out: the default grace period applies.
    const rotated = await call('POST', `/v1/subscriptions/${sub}/secret/rotate`);
    expect(rotated.status).toBe(200);
    expect(Date.parse(rotated.json.previous_secret_expires_at) - Date.now()).toBeGreaterThan(86_000_000);
    expect((await call('PATCH', `/v1/subscriptions/${sub}`)).status).toBe(200);
    h.receiver.secret = (await h.api('GET', `/v1/subscriptions/${sub}/secret`)).json.secret;

    // A change becomes an event, delivered.
    await call('POST', '/v1/poll');
    await waitFor(async () => (await h.api('GET', '/v1/sources')).json.data.every((r: any) => r.last_poll_at), 10_000, 'first poll');
    const contact = h.sim.all('contacts')[0]!;
    h.sim.update('contacts', contact.id, { notes: 'tour' });
    await h.poll();
    const delivered = await waitFor(async () => {
      const d = (await h.api('GET', `/v1/subscriptions/${sub}/deliveries?status=succeeded`)).json.data;
      return d.length > 0 ? d : null;
    });
    await call('GET', `/v1/subscriptions/${sub}/deliveries?limit=10`);
    await call('GET', '/v1/events?type=contact.*&limit=10');
    await call('GET', '/v1/events?cursor=bm9wZQ'); // 400 invalid_cursor
    const eventId = delivered[0].event_id as string;
    await call('GET', `/v1/events/${eventId}`);
    await call('GET', '/v1/events/evt_unknown'); // 404
    await call('GET', `/v1/events/${eventId}/attempts`);
    await call('POST', `/v1/events/${eventId}/replay`);
    const other = (await call('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['contact.*'] })).json.id;
    await call('PATCH', `/v1/subscriptions/${other}`, { status: 'disabled' });
    await call('POST', `/v1/events/${eventId}/replay`, { subscription_id: other }); // 409 subscription_disabled
    await call('DELETE', `/v1/subscriptions/${other}`);
    await call('POST', '/v1/replay', { since: new Date(Date.now() - 3_600_000).toISOString(), subscription_id: sub });
    await call('POST', `/v1/deliveries/${delivered[0].id}/retry`); // 409 already succeeded
    await call('POST', `/v1/subscriptions/${sub}/recover`, { since: new Date(Date.now() - 3_600_000).toISOString() });
    await call('GET', '/v1/event-types');

    // Sources.
    await call('GET', '/v1/sources');
    await call('POST', '/v1/sources/contacts/backfill');
    await call('POST', '/v1/sources/nothing/backfill'); // 404
    const appointment = esteem.create({ scheduled_at: daysFromNow(4), provider_id: 456 });
    await call('POST', `/v1/sources/esteem/appointments/${appointment.id}/reschedule`, { scheduled_at: daysFromNow(5), reason: 'tour' });
    await call('POST', '/v1/sources/esteem/appointments/999999/reschedule', { scheduled_at: daysFromNow(5) }); // 404
    esteem.cancel(appointment.id);
    await call('POST', `/v1/sources/esteem/appointments/${appointment.id}/reschedule`, { scheduled_at: daysFromNow(6) }); // 422 validation_failed
    esteem.injectFault({ status: 500 });
    await call('POST', `/v1/sources/esteem/appointments/${appointment.id}/reschedule`, { scheduled_at: daysFromNow(6) }); // 502
    await call(
      'POST',
      `/v1/sources/esteem/appointments/${appointment.id}/reschedule`,
      'scheduled_at=x',
      undefined,
      'application/x-www-form-urlencoded',
    ); // 415

    // Zapier REST hooks, with the key.
    const hook = await call('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' }, key.json.key);
    await call('GET', '/v1/hooks/sample?event=contact.updated');
    await call('GET', '/v1/hooks/sample?event=patient.created', undefined, key.json.key);
    await call('DELETE', `/v1/hooks/${hook.json.id}`, undefined, key.json.key);

    // The record of it, then clean-up.
    await call('GET', '/v1/audit?limit=5');
    await call('GET', '/readyz', undefined, null);
    await call('DELETE', `/v1/subscriptions/${sub}`);
    await call('DELETE', `/v1/api-keys/${key.json.id}`);

    expect(mismatches).toEqual([]);
    // The tour reached these answers at least once (the statuses of every error family).
    const statuses = new Set([...seen.values()].flatMap((set) => [...set]));
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 415, 422, 502, 503]));
    // Every documented operation was exercised at least once.
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.filter((op) => !seen.has(op))).toEqual([]);
  });
});

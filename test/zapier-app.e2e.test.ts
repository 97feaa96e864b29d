import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as zapierCore from 'zapier-platform-core';
import { EVENT_CATALOGUE } from '../src/catalog/index.js';
import { exampleOf } from '../src/http/routes/hooks.js';
import { ADMIN_TOKEN, Harness, waitFor } from './helpers/harness.js';

/**
 * The example Zapier integration (examples/zapier) run by zapier-platform-core's own app tester
 * against a running bridge, with a local HTTP server standing in for Zapier's catch URL.
 */
const require = createRequire(import.meta.url);
// The app is CommonJS, as Zapier's CLI builds it; its definition is plain data and functions.
const App = require('../examples/zapier/index.js') as any;
// `createAppHandler` (what `zapier validate` runs) is exported but not in the package's types.
const { createAppTester, version: platformVersion } = zapierCore;
const { createAppHandler } = zapierCore as unknown as { createAppHandler: (app: object) => (event: object) => Promise<unknown> };
const SAMPLES = require('../examples/zapier/samples.json') as Record<string, { type: string }>;
const EVENTS = require('../examples/zapier/triggers/events.js') as Array<{ key: string; event: string }>;

type Payload = {
  id: string;
  type: string;
  timestamp: string;
  data: { source: string; resource: string; id: string; object: { id: string } };
};

/** What Zapier's catch URL does: record the request and answer 200 with a small JSON body. */
class CatchHook {
  readonly received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  url = '';
  private server: Server | null = null;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', attempt: String(this.received.length) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/catch/123/abc/`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/** The delivery-body schema: these keys and no others, at the top and in `data`'s required part. */
function expectDeliveryBody(p: Payload) {
  expect(Object.keys(p).sort()).toEqual(['data', 'id', 'timestamp', 'type']);
  expect(p.id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(Number.isNaN(Date.parse(p.timestamp))).toBe(false);
  expect(p.data).toMatchObject({
    source: expect.any(String),
    resource: p.type.split('.')[0],
    id: expect.any(String),
    object: { id: p.data.id },
  });
}

describe('the example Zapier integration', () => {
  let h: Harness;
  let zapier: CatchHook;
  // The app tester wraps global fetch with Zapier's request logger on every run; the bridge and the
  // harness share this process, so put the real one back after each run.
  const realFetch = globalThis.fetch;
  const appTester = createAppTester(App) as unknown as (method: unknown, bundle: object) => Promise<unknown>;
  async function run<T = any>(method: unknown, bundle: Record<string, unknown>): Promise<T> {
    try {
      return (await appTester(method, { authData: { base_url: h.bridge.url, api_key: ADMIN_TOKEN }, ...bundle })) as T;
    } finally {
      globalThis.fetch = realFetch;
    }
  }
  const trigger = (key: string) => App.triggers[key].operation;

  beforeAll(async () => {
    h = await Harness.create({ seed: { contacts: 3, patients: 2 }, env: { BRIDGE_RESOURCES: 'contacts,patients' } });
    zapier = await new CatchHook().start();
    await h.poll(); // baseline
  });
  afterAll(async () => {
    await zapier?.close();
    await h?.close();
  });
  afterEach(async () => {
    // Every test leaves no hook behind.
    const subs = (await h.api('GET', '/v1/subscriptions')).json.data as Array<{ id: string }>;
    for (const s of subs) await h.api('DELETE', `/v1/subscriptions/${s.id}`);
    zapier.received.length = 0;
  });

  it('is a valid Zapier app definition whose trigger samples are the bridge’s examples (regenerate: npx tsx examples/zapier/scripts/update-samples.mts)', async () => {
    const validation = (await createAppHandler(App)({ command: 'validate' })) as { results: unknown[]; status: string };
    expect(validation).toEqual({ results: [], status: 'SUCCESS' });
    expect(App.platformVersion).toBe(platformVersion);
    expect(require('../examples/zapier/package.json').dependencies['zapier-platform-core']).toBe(App.platformVersion);

    for (const { key, event } of EVENTS) {
      const { sample, type } = App.triggers[key].operation;
      expect(type, key).toBe('hook');
      expect(sample.type, key).toBe(event);
      expectDeliveryBody(sample);
      if (EVENT_CATALOGUE.some((d) => d.type === event)) expect(sample, key).toEqual(exampleOf(event));
    }
    expect(SAMPLES['*']).toEqual(exampleOf('*'));
    for (const main of [
      'patient.created',
      'individual_appointment.cancelled',
      'contact.updated',
      'attendee.cancelled',
      'appointment.rescheduled',
    ]) {
      expect(EVENTS.map((e) => e.event)).toContain(main);
    }
  });

  it('tests the connection with the key, and reports a wrong key', async () => {
    await expect(run(App.authentication.test, {})).resolves.toMatchObject({ data: expect.any(Array) });
    await expect(
      run(App.authentication.test, { authData: { base_url: `${h.bridge.url}/`, api_key: 'wrong-token-0123456789' } }),
    ).rejects.toThrow(/refused the API key/);
  });

  it('runs a REST-hook trigger: subscribe, catch a change, perform, perform list, unsubscribe', async () => {
    const t = trigger('contact_updated');

    const subscribeData = await run<{ id: string }>(t.performSubscribe, { targetUrl: zapier.url });
    expect(subscribeData).toEqual({ id: expect.stringMatching(/^sub_/) });
    const sub = await h.api('GET', `/v1/subscriptions/${subscribeData.id}`);
    expect(sub.json).toMatchObject({ url: zapier.url, event_types: ['contact.updated'], status: 'active' });

    // Before anything happened, perform list is the example of the type.
    const before = await run<Payload[]>(t.performList, { subscribeData });
    expect(before).toEqual([exampleOf('contact.updated')]);

    // Two contacts change in the simulator, a patient too (not this trigger's event).
    const [first, second] = h.sim.all('contacts');
    h.sim.update('contacts', first!.id, { notes: 'first change' });
    await h.poll();
    await waitFor(() => zapier.received.length === 1, 10_000, 'the first delivery at the catch URL');
    h.sim.update('patients', h.sim.all('patients')[0]!.id, { notes: 'not a contact' });
    h.sim.update('contacts', second!.id, { notes: 'second change' });
    await h.poll();
    await waitFor(() => zapier.received.length === 2, 10_000, 'the second delivery at the catch URL');

    const caught = zapier.received.map((r) => JSON.parse(r.body) as Payload);
    expect(caught.map((p) => [p.type, p.data.id])).toEqual([
      ['contact.updated', first!.id],
      ['contact.updated', second!.id],
    ]);
    // Signed like any subscription (Zapier does not check it; a receiver could).
    const { secret } = (await h.api('GET', `/v1/subscriptions/${subscribeData.id}/secret`)).json;
    for (const r of zapier.received) expect(() => new Webhook(secret).verify(r.body, r.headers as Record<string, string>)).not.toThrow();

    // perform: what Zapier caught, as the trigger's output.
    const performed = await run<Payload[]>(t.perform, {
      cleanedRequest: caught[1],
      rawRequest: { method: 'POST', content: zapier.received[1]!.body, headers: zapier.received[1]!.headers },
      subscribeData,
    });
    expect(performed).toEqual([caught[1]]);

    // perform list: recent deliveries of the type, newest first, byte for byte what was delivered.
    const list = await run<Payload[]>(t.performList, { subscribeData });
    expect(list.map((p) => JSON.stringify(p))).toEqual([zapier.received[1]!.body, zapier.received[0]!.body]);
    list.forEach(expectDeliveryBody);

    // unsubscribe: the subscription is gone and nothing more is sent to the catch URL.
    await expect(run(t.performUnsubscribe, { subscribeData })).resolves.toEqual({ id: subscribeData.id, deleted: true });
    expect((await h.api('GET', `/v1/subscriptions/${subscribeData.id}`)).status).toBe(404);
    h.sim.update('contacts', first!.id, { notes: 'after unsubscribe' });
    await h.poll();
    const latest = (await h.api('GET', '/v1/events?type=contact.updated&limit=1')).json.data[0];
    expect(latest.data.object.notes).toBe('after unsubscribe');
    expect((await h.api('GET', `/v1/events/${latest.id}`)).json.deliveries).toEqual([]);
    expect(zapier.received).toHaveLength(2);

    // Unsubscribing a hook that is already gone (a 410 removed it, or an admin did) succeeds.
    await expect(run(t.performUnsubscribe, { subscribeData })).resolves.toEqual({ id: subscribeData.id, deleted: true });
  });

  it('runs the "any event" trigger on a pattern, with the event types of the bridge in its dropdown', async () => {
    const dropdown = await run<Array<{ id: string; name: string }>>(trigger('event_type_list').perform, {});
    expect(dropdown.length).toBe(EVENT_CATALOGUE.length);
    expect(dropdown).toContainEqual(expect.objectContaining({ id: 'patient.created', name: 'patient.created' }));

    const t = trigger('any_event');
    const subscribeData = await run<{ id: string }>(t.performSubscribe, { targetUrl: zapier.url, inputData: { event: 'patient.*' } });
    expect((await h.api('GET', `/v1/subscriptions/${subscribeData.id}`)).json.event_types).toEqual(['patient.*']);

    const created = h.sim.create('patients', { first_name: 'Zapier' });
    h.sim.update('contacts', h.sim.all('contacts')[2]!.id, { notes: 'not a patient' });
    await h.poll();
    await waitFor(() => zapier.received.length === 1, 10_000, 'the patient.created delivery');
    const caught = JSON.parse(zapier.received[0]!.body) as Payload;
    expect(caught).toMatchObject({ type: 'patient.created', data: { id: created.id, object: { first_name: 'Zapier' } } });

    const list = await run<Payload[]>(t.performList, { inputData: { event: 'patient.*' }, subscribeData });
    expect(list[0]).toEqual(caught);
    expect(list.every((p) => p.type.startsWith('patient.'))).toBe(true);
    list.forEach(expectDeliveryBody);

    await expect(run(t.performUnsubscribe, { inputData: { event: 'patient.*' }, subscribeData })).resolves.toEqual({
      id: subscribeData.id,
      deleted: true,
    });
    expect((await h.api('GET', `/v1/subscriptions/${subscribeData.id}`)).status).toBe(404);
  });

  it('shows the bridge’s own error message when a subscription is refused', async () => {
    await expect(
      run(trigger('any_event').performSubscribe, { targetUrl: zapier.url, inputData: { event: 'Contact Updated' } }),
    ).rejects.toThrow(/event: must be .*invalid_request.*400/);
    await expect(run(trigger('new_patient').performSubscribe, { targetUrl: 'not a url' })).rejects.toThrow(
      /target_url: must be an absolute http\(s\) URL.*invalid_request/,
    );
    expect((await h.api('GET', '/v1/subscriptions')).json.data).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_CATALOGUE } from '../src/catalog/index.js';
import { HOOK_DESCRIPTION } from '../src/delivery/hooks.js';
import { ADMIN_TOKEN, Harness, waitFor } from './helpers/harness.js';

/** `/v1/hooks` at the API level: the REST-hook contract Zapier relies on. */
describe('/v1/hooks', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const expectError = (res: { status: number; json: any }, status: number, code: string, message?: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
    if (message) expect(res.json.error.message).toMatch(message);
  };

  it('subscribes a target to one event type or pattern: 201 { id }, an ordinary subscription marked as a hook', async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
    const res = await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: expect.stringMatching(/^sub_/) });

    const sub = await h.api('GET', `/v1/subscriptions/${res.json.id}`);
    expect(sub.status).toBe(200);
    expect(sub.json).toMatchObject({
      url: h.receiver.url,
      event_types: ['contact.updated'],
      description: HOOK_DESCRIPTION,
      kind: 'hook',
      status: 'active',
    });
    // Describing a plain subscription like a hook does not make it one.
    const lookalike = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, description: HOOK_DESCRIPTION });
    expect(lookalike.json.kind).toBe('subscription');
    expect((await h.api('DELETE', `/v1/hooks/${lookalike.json.id}`)).status).toBe(404);
    // Signed like every subscription: it has its own secret.
    expect((await h.api('GET', `/v1/subscriptions/${res.json.id}/secret`)).json.secret).toMatch(/^whsec_/);

    const pattern = await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'attendee.*' });
    expect(pattern.status).toBe(201);
    expect((await h.api('GET', `/v1/subscriptions/${pattern.json.id}`)).json.event_types).toEqual(['attendee.*']);
  });

  it('refuses a malformed subscription with 400 and the error shape, naming the field', async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
    expectError(await h.api('POST', '/v1/hooks', { event: 'contact.updated' }), 400, 'invalid_request', /^target_url: /);
    expectError(
      await h.api('POST', '/v1/hooks', { target_url: 'not a url', event: 'contact.updated' }),
      400,
      'invalid_request',
      /^target_url: /,
    );
    expectError(await h.api('POST', '/v1/hooks', { target_url: h.receiver.url }), 400, 'invalid_request', /^event: /);
    expectError(
      await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'Contact Updated' }),
      400,
      'invalid_request',
      /^event: must be/,
    );
    expectError(
      await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated', secret: 'x' }),
      400,
      'invalid_request',
    );
    expectError(await h.api('POST', '/v1/hooks', '{"target_url":'), 400, 'invalid_json');
    expect((await h.api('GET', '/v1/subscriptions')).json.data).toEqual([]);
  });

  it('refuses a loopback or private target with 422 unsafe_url when private URLs are not allowed', async () => {
    // Checked at creation only: nothing is ever sent to these addresses.
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_ALLOW_PRIVATE_URLS: 'false' } });
    for (const target_url of ['http://127.0.0.1:9/hook', 'http://10.0.0.8/hook', 'http://169.254.169.254/latest', 'http://[::1]/hook']) {
      expectError(await h.api('POST', '/v1/hooks', { target_url, event: 'contact.updated' }), 422, 'unsafe_url');
    }
    expect((await h.api('GET', '/v1/subscriptions')).json.data).toEqual([]);
  });

  it('unsubscribes with DELETE: 200 { id, deleted: true }, then 404; other subscriptions are not hooks', async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
    const { id } = (await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.*' })).json;
    const del = await h.api('DELETE', `/v1/hooks/${id}`);
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ id, deleted: true });
    expect((await h.api('GET', `/v1/subscriptions/${id}`)).status).toBe(404);
    expectError(await h.api('DELETE', `/v1/hooks/${id}`), 404, 'not_found');
    expectError(await h.api('DELETE', '/v1/hooks/sub_nope'), 404, 'not_found');

    // A subscription made through /v1/subscriptions cannot be deleted as a hook.
    const plain = await h.subscribe(['contact.updated']);
    expectError(await h.api('DELETE', `/v1/hooks/${plain}`), 404, 'not_found');
    expect((await h.api('GET', `/v1/subscriptions/${plain}`)).status).toBe(200);
  });

  it('drops the pending deliveries of a hook it unsubscribes', async () => {
    h = await Harness.create({ seed: { contacts: 1 }, env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_RETRY_SCHEDULE: '1h' } });
    const { id } = (await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' })).json;
    h.receiver.respondWith.push(500);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'changed' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 1);
    const pending = await waitFor(async () => {
      const res = await h.api('GET', `/v1/subscriptions/${id}/deliveries?status=pending`);
      return res.json.data.length === 1 && res.json.data[0].attempt_count === 1;
    });
    expect(pending).toBe(true);
    expect((await h.api('DELETE', `/v1/hooks/${id}`)).status).toBe(200);
    const event = (await h.api('GET', '/v1/events')).json.data[0];
    expect((await h.api('GET', `/v1/events/${event.id}`)).json.deliveries).toEqual([]);
  });

  it('samples an event type with no history: one example with the schema of a delivery body', async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
    const documented = await h.api('GET', '/v1/hooks/sample?event=contact.updated');
    expect(documented.status).toBe(200);
    expect(documented.json).toEqual([EVENT_CATALOGUE.find((d) => d.type === 'contact.updated')!.example]);

    // A pattern: an example of a type it selects.
    const pattern = await h.api('GET', '/v1/hooks/sample?event=attendee.*');
    expect(pattern.json).toHaveLength(1);
    expect(pattern.json[0].type).toMatch(/^attendee\./);

    // Esteem's types are in the catalogue too: its example, with the domain fields of the type.
    const esteem = await h.api('GET', '/v1/hooks/sample?event=appointment.rescheduled');
    expect(esteem.json).toEqual([EVENT_CATALOGUE.find((d) => d.type === 'appointment.rescheduled')!.example]);
    expect(esteem.json[0].data).toMatchObject({
      source: 'esteem',
      resource: 'appointment',
      previous: { scheduled_at: expect.any(String) },
    });
    // A type no source emits is refused, with the resource's real types when the resource exists.
    expectError(
      await h.api('GET', '/v1/hooks/sample?event=widget.updated'),
      400,
      'invalid_request',
      /widget\.updated is not an event type/,
    );
    expectError(
      await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'individual_appointment.canceled' }),
      400,
      'invalid_request',
      /individual_appointment\.cancelled/,
    );
    expect(esteem.json[0].data.object.id).toBe(esteem.json[0].data.id);

    expectError(await h.api('GET', '/v1/hooks/sample'), 400, 'invalid_request', /^event: /);
    expectError(await h.api('GET', '/v1/hooks/sample?event=contact%20updated'), 400, 'invalid_request', /^event: /);
  });

  it('samples recent events of the type: up to 3, newest first, exactly the bodies delivered', async () => {
    h = await Harness.create({ seed: { contacts: 5, patients: 1 }, env: { BRIDGE_RESOURCES: 'contacts,patients' } });
    await h.subscribe(['*']);
    await h.poll();
    const contacts = h.sim.all('contacts');
    for (const [i, c] of contacts.slice(0, 4).entries()) {
      h.sim.update('contacts', c.id, { notes: `change ${i}` });
      await h.poll();
    }
    h.sim.update('patients', h.sim.all('patients')[0]!.id, { notes: 'not a contact' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 5, 10_000, 'five deliveries');
    const delivered = h.receiver.received.filter((r) => r.payload.type === 'contact.updated').map((r) => r.body);
    expect(delivered).toHaveLength(4);

    const sample = await h.api('GET', '/v1/hooks/sample?event=contact.updated');
    expect(sample.status).toBe(200);
    expect(sample.json).toHaveLength(3);
    // Byte for byte the delivery bodies of the three newest, newest first.
    expect(sample.json.map((p: unknown) => JSON.stringify(p))).toEqual(delivered.slice(1).reverse());
    expect(sample.json.map((p: { data: { id: string } }) => p.data.id)).toEqual([contacts[3]!.id, contacts[2]!.id, contacts[1]!.id]);

    const pattern = await h.api('GET', '/v1/hooks/sample?event=patient.*');
    expect(pattern.json.map((p: { type: string }) => p.type)).toEqual(['patient.updated']);
    const all = await h.api('GET', '/v1/hooks/sample?event=*');
    expect(all.json[0].type).toBe('patient.updated');
    expect(all.json).toHaveLength(3);
  });

  // Today the worker disables it (like any subscription); with the worker change in the hand-off
  // report it is removed, and this test asserts a 404 instead of "not active".
  it('removes a hook whose target answers 410 Gone', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    const { id } = (await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' })).json;
    h.receiver.respondWith.push(410);
    await h.poll();
    const [a, b] = h.sim.all('contacts');
    h.sim.update('contacts', a!.id, { notes: 'first' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 1);
    await waitFor(async () => (await h.api('GET', `/v1/subscriptions/${id}`)).status === 404, 10_000, 'the hook removed');
    expect((await h.api('DELETE', `/v1/hooks/${id}`)).status).toBe(404);
    h.sim.update('contacts', b!.id, { notes: 'second' });
    await h.poll();
    const events = (await h.api('GET', '/v1/events')).json.data;
    expect(events).toHaveLength(2);
    expect((await h.api('GET', `/v1/events/${events[0].id}`)).json.deliveries).toEqual([]);
    expect(h.receiver.received).toHaveLength(1);
  });

  it('still only disables a plain subscription whose receiver answers 410', async () => {
    h = await Harness.create({ seed: { contacts: 1 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    const id = await h.subscribe(['contact.updated']);
    h.receiver.respondWith.push(410);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'gone' });
    await h.poll();
    const sub = await waitFor(async () => {
      const res = await h.api('GET', `/v1/subscriptions/${id}`);
      return res.json.status === 'disabled' ? res.json : null;
    });
    expect(sub.disabled_reason).toBe('gone');
  });

  it('needs the admin token', async () => {
    h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts' } });
    const wrong = 'wrong-token-0123456789';
    expectError(await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' }, wrong), 401, 'unauthorized');
    expectError(await h.api('GET', '/v1/hooks/sample?event=contact.updated', undefined, wrong), 401, 'unauthorized');
    const { id } = (await h.api('POST', '/v1/hooks', { target_url: h.receiver.url, event: 'contact.updated' }, ADMIN_TOKEN)).json;
    expectError(await h.api('DELETE', `/v1/hooks/${id}`, undefined, wrong), 401, 'unauthorized');
    const bare = await fetch(`${h.bridge.url}/v1/hooks/sample?event=contact.updated`);
    expect(bare.status).toBe(401);
    expect((await h.api('GET', `/v1/subscriptions/${id}`)).status).toBe(200);
  });
});

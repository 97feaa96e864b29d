import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

// The replay rule of src/services/events.ts through the JSON API (the console shares it).
describe('POST /v1/events/:id/replay to one subscription', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("refuses a subscription whose event types do not select the event's type (409) unless force is true", async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe(['contact.*']);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'changed' });
    await h.poll();
    const eventId = await waitFor(() => h.receiver.received[0]?.id);
    const patients = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['patient.*'] });

    const refused = await h.api('POST', `/v1/events/${eventId}/replay`, { subscription_id: patients.json.id });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('event_type_not_subscribed');
    expect(refused.json.error.message).toContain('force');
    expect((await h.api('GET', `/v1/subscriptions/${patients.json.id}/deliveries`)).json.data).toEqual([]);

    const forced = await h.api('POST', `/v1/events/${eventId}/replay`, { subscription_id: patients.json.id, force: true });
    expect(forced.status).toBe(202);
    expect(forced.json.deliveries).toEqual([{ id: expect.stringMatching(/^dlv_/), subscription_id: patients.json.id }]);
    // The replay reaches the receiver with the same webhook-id (signed with that subscription's secret).
    await waitFor(() => h.receiver.received.filter((r) => r.id === eventId).length === 2, 10_000, 'the forced replay');

    const audit = (await h.api('GET', '/v1/audit')).json.data;
    expect(audit[0]).toMatchObject({
      action: 'event.replayed',
      target: eventId,
      details: { subscriptions: [patients.json.id], force: true },
    });
  });
});

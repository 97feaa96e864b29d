import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { didYouMean } from '../src/util/did-you-mean.js';
import { Harness } from './helpers/harness.js';

describe('didYouMean', () => {
  it('suggests the nearest name only when it is near enough to be a typo', () => {
    expect(didYouMean('evnt_types', ['url', 'event_types', 'description'])).toBe('event_types');
    expect(didYouMean('URL', ['url', 'headers'])).toBe('url');
    expect(didYouMean('colour', ['url', 'event_types', 'description'])).toBeUndefined();
  });
});

describe('admin API validation messages', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.create({ seed: { contacts: 1 }, env: { BRIDGE_RESOURCES: 'contacts' } });
  });
  afterAll(async () => h?.close());

  const message = async (method: string, path: string, body?: unknown) => {
    const res = await h.api(method, path, body);
    expect(res.status).toBe(400);
    return res.json.error as { code: string; message: string };
  };

  it('names an unknown field and the field it probably meant', async () => {
    const error = await message('POST', '/v1/subscriptions', { url: 'http://127.0.0.1:9/x', evnt_types: ['*'] });
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/^unknown field `evnt_types` \(did you mean `event_types`\?\)/);
  });

  it('says a reserved header cannot be overridden, naming it', async () => {
    const error = await message('POST', '/v1/subscriptions', { url: 'http://127.0.0.1:9/x', headers: { 'webhook-id': 'mine' } });
    expect(error.message).toBe('headers: `webhook-id` is set by the bridge and cannot be overridden');
  });

  it('says what a wrong type or a missing field should be, in words', async () => {
    expect((await message('POST', '/v1/subscriptions', { url: 42 })).message).toBe('url: must be a string, not a number');
    expect((await message('POST', '/v1/subscriptions', {})).message).toBe('url: is required');
    expect((await message('POST', '/v1/subscriptions', { url: 'http://127.0.0.1:9/x', rate_limit_per_second: 0 })).message).toBe(
      'rate_limit_per_second: must be at least 1',
    );
    expect((await message('POST', '/v1/subscriptions', { url: 'http://127.0.0.1:9/x', payload: 'slim' })).message).toBe(
      'payload: must be one of `full`, `thin`',
    );
  });

  it('reads a non-number query value as "must be a number", not NaN', async () => {
    const error = await message('GET', '/v1/events?limit=lots');
    expect(error.message).not.toMatch(/NaN|Invalid input/);
    expect(error.message).toMatch(/^limit: must be a number/);
  });

  it('answers any malformed JSON body with one invalid_json text', async () => {
    const texts = new Set<string>();
    for (const raw of ['{"url": ', '{url: 1}', '[1,', 'nul']) {
      const res = await fetch(`${h.bridge.url}/v1/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
        body: raw,
      });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_json');
      texts.add(error.message);
    }
    expect([...texts]).toEqual(['the body is not valid JSON: check quotes, commas and brackets (send Content-Type: application/json)']);
  });
});

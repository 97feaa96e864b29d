import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { matchesEventType } from '../src/delivery/match.js';
import { nextRetryDelayMs } from '../src/delivery/schedule.js';
import { generateSecret, sign } from '../src/delivery/sign.js';

describe('sign', () => {
  it("reproduces the Standard Webhooks specification's known-answer test vector", () => {
    // From the specification (and Svix's libraries): secret, msg id, timestamp, body → signature.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(sign([secret], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('produces signatures the standardwebhooks library verifies', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = JSON.stringify({ id: 'evt_1', type: 'contact.updated', data: { name: 'Zoë' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': sign([secret], 'evt_1', ts, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs once per secret so either secret verifies', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const body = '{"a":1}';
    const ts = Math.floor(Date.now() / 1000);
    const signature = sign([oldSecret, newSecret], 'evt_2', ts, body);
    expect(signature.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'evt_2', 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('fails verification when one byte of the body changes', () => {
    const secret = generateSecret();
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_3', 'webhook-timestamp': String(ts), 'webhook-signature': sign([secret], 'evt_3', ts, '{"a":1}') };
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
  });
});

describe('nextRetryDelayMs', () => {
  const schedule = [5_000, 300_000, 1_800_000];
  it('follows the schedule, then gives up', () => {
    expect(nextRetryDelayMs(schedule, 1, () => 0.5)).toBe(5_000);
    expect(nextRetryDelayMs(schedule, 2, () => 0.5)).toBe(300_000);
    expect(nextRetryDelayMs(schedule, 3, () => 0.5)).toBe(1_800_000);
    expect(nextRetryDelayMs(schedule, 4, () => 0.5)).toBeNull();
  });
  it('jitters by at most ±20 %', () => {
    expect(nextRetryDelayMs(schedule, 2, () => 0)).toBe(240_000);
    expect(nextRetryDelayMs(schedule, 2, () => 0.999999)).toBeCloseTo(360_000, -1);
  });
});

describe('matchesEventType', () => {
  it.each([
    [['*'], 'patient.created', true],
    [['contact.updated'], 'contact.updated', true],
    [['contact.updated'], 'contact.created', false],
    [['attendee.*'], 'attendee.cancelled', true],
    [['attendee.*'], 'attendees.cancelled', false],
    [['patient.created', 'attendee.*'], 'attendee.archived', true],
  ])('%j selects %s: %s', (patterns, type, expected) => {
    expect(matchesEventType(patterns, type)).toBe(expected);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../src/delivery/dispatcher.js';
import { decide, parseRetryAfter } from '../src/delivery/outcome.js';
import type { AttemptOutcome, DeliverySender } from '../src/delivery/sender.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { LowdbStore } from '../src/store/lowdb-store.js';

const SCHEDULE = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
const H = 3_600_000;

describe('decide (retry policy)', () => {
  const base = {
    ok: false,
    statusCode: 500,
    retryAfterMs: null,
    attemptCount: 1,
    finalAttempt: false,
    scheduleMs: SCHEDULE,
    failingSince: null,
    disableAfterMs: 5 * 24 * H,
    now: 1_000_000,
    random: () => 0.5,
  };

  it('waits the larger of the scheduled delay and Retry-After, capped at the longest delay', () => {
    expect(decide({ ...base, statusCode: 429, retryAfterMs: 60_000 }).nextAttemptAt).toBe(1_000_000 + 60_000);
    expect(decide({ ...base, statusCode: 503, retryAfterMs: 1_000 }).nextAttemptAt).toBe(1_000_000 + 5_000);
    expect(decide({ ...base, statusCode: 429, retryAfterMs: 100 * H }).nextAttemptAt).toBe(1_000_000 + 10 * H);
  });

  it('disables on 410 at once', () => {
    expect(decide({ ...base, statusCode: 410 })).toMatchObject({ status: 'failed', disable: 'gone' });
  });

  it('disables after only failures for the disable window, and forgets the window on success', () => {
    const since = 1_000_000 - 5 * 24 * H;
    expect(decide({ ...base, failingSince: since + 1 }).disable).toBeNull();
    expect(decide({ ...base, failingSince: since })).toMatchObject({ status: 'pending', disable: 'failing', failingSince: since });
    expect(decide({ ...base, ok: true, statusCode: 204, failingSince: since })).toMatchObject({ status: 'succeeded', failingSince: null });
    expect(decide({ ...base }).failingSince).toBe(1_000_000);
  });

  it('gives a manual retry of a dead letter exactly one attempt', () => {
    expect(decide({ ...base, finalAttempt: true })).toMatchObject({ status: 'failed', nextAttemptAt: null });
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T06:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 06:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('delivery schedule (fake timers)', () => {
  let dir: string;
  beforeEach(async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-23T06:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    dir = await mkdtemp(join(tmpdir(), 'bridge-schedule-'));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt, each within ±20 %, then fails', async () => {
    const store = new LowdbStore(dir);
    await store.load();
    await store.transaction((tx) => {
      tx.putSubscription(
        withSubscriptionDefaults({ id: 'sub_1', url: 'https://hooks.example.com/x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
      );
      tx.appendEvents([
        {
          payload: {
            id: 'evt_1',
            type: 'contact.updated',
            timestamp: new Date().toISOString(),
            data: { source: 'cliniko', resource: 'contact', id: '1', object: { id: '1' } },
          },
          dispatched: false,
        },
      ]);
    });
    // The attempts are counted here, not sent anywhere: this test is about time.
    const attemptTimes: number[] = [];
    const sender: DeliverySender = {
      post: async (): Promise<AttemptOutcome> => {
        attemptTimes.push(Date.now());
        return {
          ok: false,
          statusCode: 500,
          error: 'http_status',
          errorMessage: null,
          durationMs: 1,
          responseExcerpt: null,
          responseHeaders: {},
          retryAfterMs: null,
        };
      },
      close: async () => undefined,
    };
    const worker = new DeliveryWorker({
      store,
      sender,
      logger: pino({ level: 'silent' }),
      retryScheduleMs: SCHEDULE,
      disableAfterMs: 30 * 24 * H,
      concurrency: 4,
    });
    await worker.start();
    const [delivery] = await new Dispatcher(store, (d) => worker.enqueue(d)).dispatch(['evt_1']);

    for (let i = 0; i < 80 && attemptTimes.length < 8; i++) await vi.advanceTimersByTimeAsync(30 * 60_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attemptTimes).toHaveLength(8);
    const gaps = attemptTimes.slice(1).map((t, i) => t - attemptTimes[i]!);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(SCHEDULE[i]! * 0.8 - 1);
      // The worker re-checks its queue at least every 30 s; a due retry waits at most that long.
      expect(gap).toBeLessThanOrEqual(SCHEDULE[i]! * 1.2 + 30_000);
    });
    // Jitter is real: the gaps are not exactly the schedule.
    expect(gaps.filter((gap, i) => gap !== SCHEDULE[i]).length).toBeGreaterThan(3);
    expect((await store.dump()).deliveries[delivery!.id]).toMatchObject({ status: 'failed', attempt_count: 8, next_attempt_at: null });

    // More time changes nothing: a dead letter waits for a manual retry.
    await vi.advanceTimersByTimeAsync(48 * H);
    expect(attemptTimes).toHaveLength(8);
    expect(await worker.retryNow(delivery!.id)).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(attemptTimes).toHaveLength(9);
    expect((await store.dump()).deliveries[delivery!.id]).toMatchObject({ status: 'failed', attempt_count: 9 });
    await worker.stop();
    await store.flush();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../src/sources/rate-limiter.js';

describe('RateLimiter', () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-11-23T06:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  /** Starts `n` acquisitions and records when each was granted (fake ms since start). */
  function grantTimes(limiter: RateLimiter, n: number): number[] {
    const start = Date.now();
    const times: number[] = [];
    for (let i = 0; i < n; i++) void limiter.acquire().then(() => times.push(Date.now() - start));
    return times;
  }

  it('never lets more than the budget start in any 60 s window', async () => {
    const limiter = new RateLimiter(200);
    const times = grantTimes(limiter, 450);
    await vi.advanceTimersByTimeAsync(150_000);
    expect(times).toHaveLength(450);
    for (let i = 200; i < times.length; i++) expect(times[i]! - times[i - 200]!).toBeGreaterThanOrEqual(60_000);
    expect(times.filter((t) => t < 60_000)).toHaveLength(200);
    expect(times.filter((t) => t >= 60_000 && t < 120_000)).toHaveLength(200);
  });

  it('holds every request until a 429 reset has passed', async () => {
    const limiter = new RateLimiter(200);
    limiter.pauseUntil(Date.now() + 7_000);
    const times = grantTimes(limiter, 3);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(times).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(times).toEqual([7_000, 7_000, 7_000]);
  });

  it('stops waiting when aborted', async () => {
    const limiter = new RateLimiter(1);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(waiting).rejects.toThrow('shutdown');
  });
});

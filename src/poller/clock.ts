import type { Clock } from '../util/clock.js';

interface Timer {
  at: number;
  seq: number;
  wake: () => void;
}

/**
 * A clock that only moves when told to, for tests and benchmarks that run the scheduler, the
 * budget and the simulator through minutes of simulated time in seconds: everything waiting in
 * `sleep` wakes when `advanceTo` passes its time, in time order.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2026-11-23T06:00:00Z'));
 * const woke = clock.sleep(5_000);
 * clock.advanceTo(clock.nextTimerAt()!); // woke resolves
 */
export class ManualClock implements Clock {
  /** Counts `now()` and `sleep()` calls: when it stops moving, nothing that reads the clock runs. */
  activity = 0;
  private current: number;
  private timers: Timer[] = [];
  private seq = 0;

  constructor(startMs: number) {
    this.current = startMs;
  }

  now(): number {
    this.activity += 1;
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.activity += 1;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal!.reason);
      };
      const timer: Timer = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** When the earliest sleeper wakes; undefined when nobody sleeps. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  /** Sleepers currently waiting. */
  get sleepers(): number {
    return this.timers.length;
  }

  /**
   * Lets real work finish: resolves once `busy()` is false and nothing read the clock for two
   * event-loop turns, i.e. everything left is waiting on this clock.
   */
  async settle(busy: () => boolean | Promise<boolean> = () => false): Promise<void> {
    for (;;) {
      const mark = this.activity;
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      if (!(await busy()) && this.activity === mark) return;
    }
  }

  /**
   * Runs simulated time up to `untilMs`: settles, wakes the earliest sleeper or runs the earliest
   * `script` step (whichever is first), and again. `script` steps run at their time, in order.
   */
  async runUntil(
    untilMs: number,
    busy: () => boolean | Promise<boolean> = () => false,
    script: Array<{ at: number; run: () => void }> = [],
  ): Promise<void> {
    script.sort((a, b) => a.at - b.at);
    for (;;) {
      await this.settle(busy);
      const next = Math.min(this.nextTimerAt() ?? untilMs, script[0]?.at ?? untilMs, untilMs);
      this.advanceTo(next);
      while (script.length > 0 && script[0]!.at <= this.current) script.shift()!.run();
      if (this.current >= untilMs) {
        await this.settle(busy);
        return;
      }
    }
  }

  /** Moves the clock forward to `ms` (never back) and wakes every sleeper due by then, oldest first. */
  advanceTo(ms: number): void {
    const due = this.timers.filter((t) => t.at <= ms).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((t) => t.at > ms);
    this.current = Math.max(this.current, ms);
    for (const t of due) t.wake();
  }
}

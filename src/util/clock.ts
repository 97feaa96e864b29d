import { sleep } from './sleep.js';

/**
 * Time as the poller, the request budgets and the sources see it: one instance is injected into
 * each of them, so production reads the system clock and a test or benchmark can run minutes of
 * simulated time in seconds (a manual clock that only moves when told to).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. `sleep` uses the global `setTimeout`, so vitest fake timers control it. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal),
};

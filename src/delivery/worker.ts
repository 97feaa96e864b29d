import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Delivery } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { nextRetryDelayMs } from './schedule.js';
import type { Sender } from './sender.js';
import { HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign } from './sign.js';

export interface WorkerOptions {
  store: Store;
  sender: Sender;
  logger: Logger;
  retryScheduleMs: readonly number[];
  /** Attempts in flight at once, across all subscriptions. */
  concurrency: number;
  now?: () => number;
  random?: () => number;
}

/** The worker re-checks its queue at least this often, so a long timer never strands work. */
const MAX_SLEEP_MS = 30_000;

/**
 * Sends pending deliveries when they are due: signs each attempt (Standard Webhooks), records it,
 * and either marks the delivery `succeeded`, schedules the next retry with jitter, or marks it
 * `failed` after the last one. State changes go through the store's group commit, never one whole
 * file write per attempt awaited in sequence. Pending work survives a restart because it is read
 * back from the store in `start()`.
 */
export class DeliveryWorker {
  private readonly pending = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.stopped = false;
    for (const d of Object.values(this.options.store.data.deliveries)) if (d.status === 'pending') this.pending.add(d.id);
    this.wake();
  }

  /** Adds new deliveries and sends the due ones. */
  enqueue(deliveries: readonly Delivery[]): void {
    for (const d of deliveries) if (d.status === 'pending') this.pending.add(d.id);
    this.wake();
  }

  /** Forgets deliveries removed from the store (their subscription was deleted). */
  forget(deliveryIds: readonly string[]): void {
    for (const id of deliveryIds) this.pending.delete(id);
  }

  /** Looks for due work now (after a subscription is re-enabled, for instance). */
  wake(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 0);
  }

  /** Stops starting attempts and waits for those in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled(this.inFlight.values());
  }

  /** Deliveries waiting for their next attempt. */
  pendingCount(): number {
    return this.pending.size;
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const { store, concurrency } = this.options;
    const now = this.now();
    const due: Delivery[] = [];
    let nextWake = now + MAX_SLEEP_MS;
    for (const id of this.pending) {
      const d = store.data.deliveries[id];
      if (!d || d.status !== 'pending') {
        this.pending.delete(id);
        continue;
      }
      if (this.inFlight.has(id)) continue;
      if (store.data.subscriptions[d.subscription_id]?.status !== 'active') continue;
      const at = d.next_attempt_at ? Date.parse(d.next_attempt_at) : now;
      if (at <= now) due.push(d);
      else nextWake = Math.min(nextWake, at);
    }
    due.sort((a, b) => (a.next_attempt_at ?? '').localeCompare(b.next_attempt_at ?? '') || a.id.localeCompare(b.id));
    const slots = Math.max(0, concurrency - this.inFlight.size);
    for (const d of due.slice(0, slots)) {
      const run = this.attempt(d).finally(() => {
        this.inFlight.delete(d.id);
        this.wake();
      });
      this.inFlight.set(d.id, run);
    }
    if (due.length <= slots) this.timer = setTimeout(() => this.tick(), Math.max(0, nextWake - now));
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { store, sender, logger, retryScheduleMs } = this.options;
    const sub = store.data.subscriptions[delivery.subscription_id];
    const event = store.getEvent(delivery.event_id);
    if (!sub || !event) {
      this.pending.delete(delivery.id);
      return;
    }
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(this.now() / 1000);
    const attemptedAt = new Date(this.now()).toISOString();
    const outcome = await sender.post(sub.url, body, {
      [HEADER_ID]: event.payload.id,
      [HEADER_TIMESTAMP]: String(timestamp),
      [HEADER_SIGNATURE]: sign([sub.secret], event.payload.id, timestamp, body),
    });

    // The subscription may have been deleted while the request was in flight.
    if (!store.data.deliveries[delivery.id]) return;
    delivery.attempts.push({
      id: newId('att'),
      attempted_at: attemptedAt,
      duration_ms: outcome.durationMs,
      status_code: outcome.statusCode,
      error: outcome.error,
      response_excerpt: outcome.responseExcerpt,
    });
    delivery.attempt_count += 1;
    delivery.updated_at = new Date(this.now()).toISOString();
    if (outcome.ok) {
      delivery.status = 'succeeded';
      delivery.next_attempt_at = null;
    } else {
      const delayMs = nextRetryDelayMs(retryScheduleMs, delivery.attempt_count, this.random);
      delivery.status = delayMs === null ? 'failed' : 'pending';
      delivery.next_attempt_at = delayMs === null ? null : new Date(this.now() + delayMs).toISOString();
    }
    if (delivery.status !== 'pending') this.pending.delete(delivery.id);

    logger.info(
      {
        delivery: delivery.id,
        event: event.payload.id,
        type: event.payload.type,
        subscription: sub.id,
        attempt: delivery.attempt_count,
        status: outcome.statusCode,
        error: outcome.error,
        ms: outcome.durationMs,
        outcome: delivery.status,
        next_attempt_at: delivery.next_attempt_at,
      },
      outcome.ok ? 'delivered' : 'delivery attempt failed',
    );
    store.commit().catch((err: unknown) => logger.error({ err }, 'store write failed after a delivery attempt'));
  }
}

import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Delivery, Subscription } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { decide } from './outcome.js';
import type { DeliverySender } from './sender.js';
import { HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign } from './sign.js';

export interface WorkerOptions {
  store: Store;
  sender: DeliverySender;
  logger: Logger;
  /** Delays after the first attempt (`BRIDGE_RETRY_SCHEDULE`). */
  retryScheduleMs: readonly number[];
  /** `BRIDGE_DISABLE_AFTER`: a subscription failing this long without a success is disabled. */
  disableAfterMs: number;
  /** Attempts in flight at once, across all subscriptions. */
  concurrency: number;
  now?: () => number;
  random?: () => number;
}

/** The worker re-checks its queue at least this often, so a long timer never strands work. */
const MAX_SLEEP_MS = 30_000;
const RATE_WINDOW_MS = 1_000;

/**
 * Sends pending deliveries when they are due: signs each attempt (Standard Webhooks, one signature
 * per valid secret), records it, and applies the retry policy of `decide()`. It honours the global
 * concurrency, each subscription's `max_in_flight` and `rate_limit_per_second`, and `per_record`
 * ordering. State changes go through the store's group commit. Pending work survives a restart: it is
 * read back from the store in `start()`.
 */
export class DeliveryWorker {
  private readonly pending = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly inFlightBySub = new Map<string, number>();
  private readonly startsBySub = new Map<string, number[]>();
  private readonly manual = new Set<string>();
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

  /**
   * One more attempt now, without touching the schedule of other deliveries. A `failed` delivery
   * gets exactly one attempt and is `failed` again if it fails; a pending one continues its schedule.
   * @returns false when the delivery is unknown or already succeeded.
   */
  retryNow(deliveryId: string): boolean {
    const d = this.options.store.data.deliveries[deliveryId];
    if (!d || d.status === 'succeeded') return false;
    if (d.status === 'failed') {
      d.status = 'pending';
      d.final_attempt = true;
    }
    d.next_attempt_at = new Date(this.now()).toISOString();
    d.updated_at = d.next_attempt_at;
    this.options.store.touchDelivery(d.id);
    this.manual.add(d.id);
    this.pending.add(d.id);
    this.wake();
    return true;
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
    const { store } = this.options;
    const now = this.now();
    let nextWake = now + MAX_SLEEP_MS;

    // Per-record ordering: only the oldest pending event of a (subscription, record) may be sent.
    const heads = new Map<string, string>();
    const busyKeys = new Set<string>();
    const live: Array<{ d: Delivery; sub: Subscription; key: string | null }> = [];
    for (const id of this.pending) {
      const d = store.data.deliveries[id];
      if (!d || d.status !== 'pending') {
        this.pending.delete(id);
        continue;
      }
      const sub = store.data.subscriptions[d.subscription_id];
      if (!sub) {
        this.pending.delete(id);
        continue;
      }
      let key: string | null = null;
      if (sub.ordering === 'per_record') {
        const event = store.getEvent(d.event_id);
        key = event ? `${sub.id}|${event.payload.data.resource}|${event.payload.data.id}` : null;
        if (key) {
          const head = heads.get(key);
          if (!head || d.event_id < head) heads.set(key, d.event_id);
          if (this.inFlight.has(id)) busyKeys.add(key);
        }
      }
      live.push({ d, sub, key });
    }

    const due: Array<{ d: Delivery; sub: Subscription; key: string | null }> = [];
    for (const { d, sub, key } of live) {
      if (this.inFlight.has(d.id) || sub.status !== 'active') continue;
      if (key && (busyKeys.has(key) || heads.get(key) !== d.event_id)) continue;
      const at = d.next_attempt_at ? Date.parse(d.next_attempt_at) : now;
      if (at <= now) due.push({ d, sub, key });
      else nextWake = Math.min(nextWake, at);
    }
    due.sort((a, b) => (a.d.next_attempt_at ?? '').localeCompare(b.d.next_attempt_at ?? '') || a.d.event_id.localeCompare(b.d.event_id));

    for (const { d, sub, key } of due) {
      if (this.inFlight.size >= this.options.concurrency) break;
      if (sub.max_in_flight !== null && (this.inFlightBySub.get(sub.id) ?? 0) >= sub.max_in_flight) continue;
      if (sub.rate_limit_per_second !== null) {
        const starts = (this.startsBySub.get(sub.id) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
        this.startsBySub.set(sub.id, starts);
        if (starts.length >= sub.rate_limit_per_second) {
          nextWake = Math.min(nextWake, starts[0]! + RATE_WINDOW_MS);
          continue;
        }
        starts.push(now);
      }
      if (key) {
        // A record's deliveries go one at a time (two can share the head event after a replay).
        if (busyKeys.has(key)) continue;
        busyKeys.add(key);
      }
      this.launch(d, sub);
    }
    if (!this.timer && !this.stopped) this.timer = setTimeout(() => this.tick(), Math.max(0, nextWake - now));
  }

  private launch(d: Delivery, sub: Subscription): void {
    this.inFlightBySub.set(sub.id, (this.inFlightBySub.get(sub.id) ?? 0) + 1);
    const run = this.attempt(d, sub)
      .catch((err: unknown) => this.options.logger.error({ err, delivery: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.inFlight.delete(d.id);
        this.inFlightBySub.set(sub.id, (this.inFlightBySub.get(sub.id) ?? 1) - 1);
        this.wake();
      });
    this.inFlight.set(d.id, run);
  }

  private async attempt(delivery: Delivery, sub: Subscription): Promise<void> {
    const { store, sender, logger } = this.options;
    const event = store.getEvent(delivery.event_id);
    if (!event) {
      this.pending.delete(delivery.id);
      return;
    }
    const manual = this.manual.delete(delivery.id);
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(this.now() / 1000);
    const attemptedAt = new Date(this.now()).toISOString();
    const outcome = await sender.post(sub.url, body, {
      ...sub.headers,
      [HEADER_ID]: event.payload.id,
      [HEADER_TIMESTAMP]: String(timestamp),
      [HEADER_SIGNATURE]: sign(this.validSecrets(sub), event.payload.id, timestamp, body),
    });

    // The subscription may have been deleted while the request was in flight.
    if (!store.data.deliveries[delivery.id] || !store.data.subscriptions[sub.id]) return;
    const now = this.now();
    delivery.attempts.push({
      id: newId('att'),
      attempted_at: attemptedAt,
      duration_ms: outcome.durationMs,
      status_code: outcome.statusCode,
      error: outcome.error,
      response_excerpt: outcome.responseExcerpt,
      response_headers: outcome.responseHeaders,
      trigger: manual ? 'manual' : 'schedule',
    });
    delivery.attempt_count += 1;
    const decision = decide({
      ok: outcome.ok,
      statusCode: outcome.statusCode,
      retryAfterMs: outcome.retryAfterMs,
      attemptCount: delivery.attempt_count,
      finalAttempt: delivery.final_attempt,
      scheduleMs: this.options.retryScheduleMs,
      failingSince: sub.failing_since ? Date.parse(sub.failing_since) : null,
      disableAfterMs: this.options.disableAfterMs,
      now,
      random: this.random,
    });
    delivery.status = decision.status;
    delivery.final_attempt = false;
    delivery.next_attempt_at = decision.nextAttemptAt === null ? null : new Date(decision.nextAttemptAt).toISOString();
    delivery.updated_at = new Date(now).toISOString();
    if (delivery.status !== 'pending') this.pending.delete(delivery.id);
    store.touchDelivery(delivery.id);

    const failingSince = decision.failingSince === null ? null : new Date(decision.failingSince).toISOString();
    if (failingSince !== sub.failing_since) store.touchSubscription(sub.id);
    sub.failing_since = failingSince;
    if (decision.disable && sub.status === 'active') {
      sub.status = 'disabled';
      sub.disabled_reason = decision.disable;
      sub.updated_at = new Date(now).toISOString();
      store.touchSubscription(sub.id);
      logger.warn({ subscription: sub.id, reason: decision.disable }, 'subscription disabled');
    }

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

  /** The current secret first, then rotated-out secrets still within their grace period. */
  private validSecrets(sub: Subscription): string[] {
    const now = this.now();
    return [sub.secret, ...sub.previous_secrets.filter((p) => Date.parse(p.expires_at) > now).map((p) => p.secret)];
  }
}

import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Delivery, Subscription } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { metrics } from '../metrics.js';
import { deliveryBody, type ApiBaseUrls } from './body.js';
import { isHook } from './hooks.js';
import { decide } from './outcome.js';
import { DueQueue, type Due } from './queue.js';
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
  /** Where thin payloads' `links.self` point, per source (src/delivery/body.ts). */
  apiBase?: ApiBaseUrls;
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
 *
 * Scheduling costs O(log n) per attempt: due attempts wait in a min-heap; of a per-record
 * subscription's deliveries for one record only the oldest is in the heap; attempts held back by a
 * subscription's limits wait in that subscription's queue until a slot frees.
 */
export class DeliveryWorker {
  private readonly pending = new Set<string>();
  private readonly queue = new DueQueue();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly inFlightBySub = new Map<string, number>();
  private readonly startsBySub = new Map<string, number[]>();
  /** Per-record ordering: pending delivery ids of one (subscription, record), oldest event first. */
  private readonly recordQueues = new Map<string, Delivery[]>();
  /** Attempts due but held back by their subscription's `max_in_flight` or rate limit. */
  private readonly heldBySub = new Map<string, Due[]>();
  private readonly manual = new Set<string>();
  private readonly rateTimers = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private stopped = true;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.stopped = false;
    this.rebuild();
  }

  /** Adds new deliveries and sends the due ones. */
  enqueue(deliveries: readonly Delivery[]): void {
    for (const d of deliveries) this.schedule(d);
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
    this.schedule(d);
    this.wake();
    return true;
  }

  /** Re-reads every pending delivery: after a subscription is enabled, changed or deleted. */
  refresh(): void {
    this.rebuild();
  }

  /**
   * Forgets deliveries removed from the store (their subscription was deleted) by re-reading every
   * pending delivery — rare (an admin action or a 410 hook), so a rebuild beats bookkeeping.
   */
  forget(deliveryIds: readonly string[]): void {
    if (deliveryIds.length > 0) this.rebuild();
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

  private rebuild(): void {
    this.pending.clear();
    this.queue.clear();
    this.recordQueues.clear();
    this.heldBySub.clear();
    const pending = Object.values(this.options.store.data.deliveries).filter((d) => d.status === 'pending');
    pending.sort((a, b) => a.event_id.localeCompare(b.event_id));
    for (const d of pending) this.schedule(d);
    this.wake();
  }

  private dueOf(d: Delivery): Due {
    return { id: d.id, at: d.next_attempt_at ? Date.parse(d.next_attempt_at) : 0, eventId: d.event_id };
  }

  private recordKey(d: Delivery, sub: Subscription): string | null {
    if (sub.ordering !== 'per_record') return null;
    const event = this.options.store.getEvent(d.event_id);
    return event ? `${sub.id}|${event.payload.data.resource}|${event.payload.data.id}` : null;
  }

  /** Puts a pending delivery where it waits: the heap, or behind an older event of its record. */
  private schedule(d: Delivery): void {
    if (d.status !== 'pending') return;
    this.pending.add(d.id);
    const sub = this.options.store.data.subscriptions[d.subscription_id];
    // A disabled subscription's work waits for `refresh()` after it is enabled again.
    if (!sub || sub.status !== 'active') return;
    const key = this.recordKey(d, sub);
    if (key) {
      const q = this.recordQueues.get(key) ?? [];
      if (!q.includes(d)) {
        q.push(d);
        q.sort((a, b) => a.event_id.localeCompare(b.event_id));
        this.recordQueues.set(key, q);
      }
      if (q[0] !== d || this.inFlight.has(d.id)) return;
    }
    this.queue.push(this.dueOf(d));
  }

  /** Runs `tick` soon, unless it is already due sooner. */
  private wake(at = this.now()): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - this.now()));
  }

  private tick(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const { store } = this.options;
    const now = this.now();
    while (this.inFlight.size < this.options.concurrency) {
      const top = this.queue.peek();
      if (!top || top.at > now) break;
      this.queue.pop();
      const d = store.data.deliveries[top.id];
      // Stale entries: the delivery finished, was rescheduled, or is already being attempted.
      if (!d || d.status !== 'pending' || this.inFlight.has(d.id) || this.dueOf(d).at !== top.at) continue;
      const sub = store.data.subscriptions[d.subscription_id];
      if (!sub || sub.status !== 'active') continue;
      const key = this.recordKey(d, sub);
      if (key && this.recordQueues.get(key)?.[0] !== d) continue;
      if (!this.hasSlot(sub, now)) {
        const held = this.heldBySub.get(sub.id) ?? [];
        held.push(top);
        this.heldBySub.set(sub.id, held);
        continue;
      }
      this.launch(d, sub, now);
    }
    const next = this.queue.peek();
    this.wake(Math.min(next ? next.at : Infinity, now + MAX_SLEEP_MS));
  }

  /** Whether a subscription may start one more attempt now; when its rate limit says no, wakes when it will. */
  private hasSlot(sub: Subscription, now: number): boolean {
    if (sub.max_in_flight !== null && (this.inFlightBySub.get(sub.id) ?? 0) >= sub.max_in_flight) return false;
    if (sub.rate_limit_per_second === null) return true;
    const starts = (this.startsBySub.get(sub.id) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    this.startsBySub.set(sub.id, starts);
    if (starts.length < sub.rate_limit_per_second) return true;
    if (!this.rateTimers.has(sub.id)) {
      this.rateTimers.add(sub.id);
      setTimeout(() => {
        this.rateTimers.delete(sub.id);
        this.release(sub.id);
      }, Math.max(0, starts[0]! + RATE_WINDOW_MS - now)).unref();
    }
    return false;
  }

  /**
   * A slot of a subscription freed: as many of its held attempts as it now has room for go back to
   * the heap, oldest first (all of them would be popped and held again: quadratic in the backlog).
   */
  private release(subId: string): void {
    const held = this.heldBySub.get(subId);
    const sub = this.options.store.data.subscriptions[subId];
    if (!held || held.length === 0 || !sub) return;
    const now = this.now();
    const inFlightRoom = sub.max_in_flight === null ? Infinity : sub.max_in_flight - (this.inFlightBySub.get(subId) ?? 0);
    const rateRoom =
      sub.rate_limit_per_second === null
        ? Infinity
        : sub.rate_limit_per_second - (this.startsBySub.get(subId) ?? []).filter((t) => t > now - RATE_WINDOW_MS).length;
    const room = Math.max(0, Math.min(inFlightRoom, rateRoom, held.length));
    for (const due of held.splice(0, room)) this.queue.push(due);
    if (held.length === 0) this.heldBySub.delete(subId);
    if (room > 0) this.wake();
    else if (sub.rate_limit_per_second !== null && rateRoom <= 0) this.hasSlot(sub, now); // re-arms the rate timer
  }

  private launch(d: Delivery, sub: Subscription, now: number): void {
    if (sub.rate_limit_per_second !== null) this.startsBySub.get(sub.id)!.push(now);
    this.inFlightBySub.set(sub.id, (this.inFlightBySub.get(sub.id) ?? 0) + 1);
    const run = this.attempt(d, sub)
      .catch((err: unknown) => this.options.logger.error({ err, delivery: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.inFlight.delete(d.id);
        this.inFlightBySub.set(sub.id, (this.inFlightBySub.get(sub.id) ?? 1) - 1);
        this.afterAttempt(d, sub);
        this.release(sub.id);
        this.wake();
      });
    this.inFlight.set(d.id, run);
  }

  /** Requeues a retry, or lets the next event of the record go once this delivery is final. */
  private afterAttempt(d: Delivery, sub: Subscription): void {
    if (d.status === 'pending') {
      this.schedule(d);
      return;
    }
    this.pending.delete(d.id);
    const key = this.recordKey(d, sub);
    if (!key) return;
    const q = this.recordQueues.get(key);
    if (!q) return;
    const rest = q.filter((x) => x !== d && x.status === 'pending');
    if (rest.length === 0) this.recordQueues.delete(key);
    else {
      this.recordQueues.set(key, rest);
      this.queue.push(this.dueOf(rest[0]!));
    }
  }

  private async attempt(delivery: Delivery, sub: Subscription): Promise<void> {
    const { store, sender, logger } = this.options;
    const event = store.getEvent(delivery.event_id);
    if (!event) {
      // Cannot happen through retention (it keeps events with unfinished deliveries); never spin on it.
      delivery.status = 'failed';
      delivery.next_attempt_at = null;
      store.touchDelivery(delivery.id);
      return;
    }
    const manual = this.manual.delete(delivery.id);
    const body = deliveryBody(event.payload, sub, this.options.apiBase);
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
    metrics.deliveries.inc({ outcome: decision.status === 'pending' ? 'retry' : decision.status });
    if (outcome.ok) metrics.deliveryLatency.observe((now - Date.parse(event.payload.timestamp)) / 1000);
    delivery.next_attempt_at = decision.nextAttemptAt === null ? null : new Date(decision.nextAttemptAt).toISOString();
    delivery.updated_at = new Date(now).toISOString();
    store.touchDelivery(delivery.id);

    const failingSince = decision.failingSince === null ? null : new Date(decision.failingSince).toISOString();
    if (failingSince !== sub.failing_since) store.touchSubscription(sub.id);
    sub.failing_since = failingSince;
    if (decision.disable === 'gone' && isHook(sub)) {
      // A REST hook's 410 means the Zap was turned off: remove it, as its unsubscribe would.
      this.forget(store.deleteSubscription(sub.id));
      logger.warn({ subscription: sub.id }, 'hook removed: its target answered 410 Gone');
    } else if (decision.disable && sub.status === 'active') {
      sub.status = 'disabled';
      sub.disabled_reason = decision.disable;
      sub.disabled_at = new Date(now).toISOString();
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

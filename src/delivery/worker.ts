import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { Attempt, Delivery, StoredEvent, Subscription } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { deliveryBody, type ApiBaseUrls } from './body.js';
import { reportAttempt } from './attempt-report.js';
import { applyAttempt, type RetryPolicy } from './record.js';
import { SharedDeliveryLoop } from './shared-worker.js';
import { DueQueue, type Due } from './queue.js';
import type { AttemptOutcome, DeliverySender } from './sender.js';
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
  /** This process's name for delivery claims when the store is shared (`BRIDGE_INSTANCE_ID`). */
  instanceId?: string;
  /** How long a claim holds if this process dies mid-attempt: longer than an attempt's timeout (ms). */
  claimTtlMs?: number;
}

/** What recording one attempt changed. */
interface AttemptResult {
  next: Delivery;
  subAfter: Subscription | null;
  removed: boolean;
  disabled: 'gone' | 'failing' | null | undefined;
}

/** The worker re-checks its queue at least this often, so a long timer never strands work. */
const MAX_SLEEP_MS = 30_000;
const RATE_WINDOW_MS = 1_000;
/** When an attempt could not be recorded (the store refused the write), it is tried again after this. */
const CRASH_RETRY_MS = 5_000;
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
 *
 * With a store several processes share (`store.shared`, PostgreSQL) none of that scheduling runs:
 * `SharedDeliveryLoop` claims due deliveries from the database in batches and records them, and this
 * class only signs and sends (`send`).
 */
export class DeliveryWorker {
  /** The worker's own working copies of pending deliveries; the store holds the truth. */
  private readonly deliveries = new Map<string, Delivery>();
  /** Subscriptions as last read (`refresh()`), for scheduling decisions; attempts re-read them. */
  private subs = new Map<string, Subscription>();
  /** The event (resource, record id) of deliveries of per-record subscriptions, for ordering. */
  private readonly recordOf = new Map<string, string>();
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
  /** With a shared store (PostgreSQL) attempts are claimed from the database in batches instead. */
  private readonly shared: SharedDeliveryLoop | null;
  private readonly policy: RetryPolicy;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.policy = { retryScheduleMs: options.retryScheduleMs, disableAfterMs: options.disableAfterMs, random: this.random };
    const store = options.store;
    this.shared = store.shared
      ? new SharedDeliveryLoop({
          store,
          shared: store.shared,
          logger: options.logger,
          concurrency: options.concurrency,
          holder: options.instanceId ?? 'bridge',
          claimTtlMs: options.claimTtlMs ?? 60_000,
          policy: this.policy,
          now: this.now,
          send: (event, sub, id) => this.send(event, sub, this.manual.delete(id)),
        })
      : null;
  }

  /** Reads subscriptions and pending deliveries from the store and starts sending. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.shared) return this.shared.start();
    await this.rebuild();
  }

  /** Adds new (durable) deliveries and sends the due ones. */
  enqueue(deliveries: readonly Delivery[]): void {
    if (this.shared) return this.shared.wake();
    void this.track(deliveries).then(() => this.wake());
  }

  /**
   * One more attempt now, without touching the schedule of other deliveries. A `failed` delivery
   * gets exactly one attempt and is `failed` again if it fails; a pending one continues its schedule.
   * @returns false when the delivery is unknown or already succeeded.
   */
  async retryNow(deliveryId: string): Promise<boolean> {
    const at = new Date(this.now()).toISOString();
    const d = await this.options.store.transaction(async (tx) => {
      const current = await tx.getDelivery(deliveryId);
      if (!current || current.status === 'succeeded') return null;
      const next: Delivery = {
        ...current,
        ...(current.status === 'failed' ? { status: 'pending' as const, final_attempt: true } : {}),
        next_attempt_at: at,
        updated_at: at,
      };
      tx.putDelivery(next);
      return next;
    });
    if (!d) return false;
    this.manual.add(d.id);
    if (this.shared) {
      this.shared.wake();
      return true;
    }
    const own = this.deliveries.get(d.id);
    if (own && !this.inFlight.has(d.id))
      Object.assign(own, { status: d.status, final_attempt: d.final_attempt, next_attempt_at: d.next_attempt_at });
    else if (!own) await this.track([d]);
    if (own && !this.inFlight.has(d.id)) this.schedule(own);
    this.wake();
    return true;
  }

  /**
   * Re-reads subscriptions and every pending delivery: after a subscription is created, changed,
   * enabled, disabled or deleted (admin actions, rare, so a rebuild beats bookkeeping).
   */
  refresh(): Promise<void> {
    if (this.shared) {
      // Each claim checks, in its statement, that its copy of the subscriptions is current: nothing to rebuild.
      this.shared.wake();
      return Promise.resolve();
    }
    return this.rebuild();
  }

  /** Stops starting attempts and waits for those in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.shared?.stop();
    await Promise.allSettled(this.inFlight.values());
  }

  /** Deliveries waiting for their next attempt. */
  pendingCount(): number {
    return this.shared ? this.shared.pendingCount() : this.pending.size;
  }

  private async rebuild(): Promise<void> {
    const { store } = this.options;
    const subs = await store.listSubscriptions();
    const { data: pending } = await store.listDeliveries({ status: 'pending' });
    this.subs = new Map(subs.map((s) => [s.id, s]));
    this.pending.clear();
    this.queue.clear();
    this.recordQueues.clear();
    this.heldBySub.clear();
    // Attempts in flight keep their working copy: their result is written by the attempt itself.
    for (const id of [...this.deliveries.keys()]) if (!this.inFlight.has(id)) this.deliveries.delete(id);
    await this.track(pending);
    this.wake();
  }

  /** Takes working copies of pending deliveries and schedules them, oldest event first. */
  private async track(deliveries: readonly Delivery[]): Promise<void> {
    const sorted = [...deliveries].filter((d) => d.status === 'pending').sort((a, b) => a.event_id.localeCompare(b.event_id));
    for (const d of sorted) {
      if (this.deliveries.has(d.id)) continue;
      const sub = this.subs.get(d.subscription_id) ?? (await this.options.store.getSubscription(d.subscription_id));
      if (sub) this.subs.set(sub.id, sub);
      if (sub?.ordering === 'per_record' && !this.recordOf.has(d.id)) {
        const event = await this.options.store.getEvent(d.event_id);
        if (event) this.recordOf.set(d.id, `${event.payload.data.resource}|${event.payload.data.id}`);
      }
      const own: Delivery = { ...d, attempts: [] };
      this.deliveries.set(d.id, own);
      this.schedule(own);
    }
  }

  private dueOf(d: Delivery): Due {
    return { id: d.id, at: d.next_attempt_at ? Date.parse(d.next_attempt_at) : 0, eventId: d.event_id };
  }

  private recordKey(d: Delivery, sub: Subscription): string | null {
    if (sub.ordering !== 'per_record') return null;
    const record = this.recordOf.get(d.id);
    return record ? `${sub.id}|${record}` : null;
  }

  /** Puts a pending delivery where it waits: the heap, or behind an older event of its record. */
  private schedule(d: Delivery): void {
    if (d.status !== 'pending') return;
    this.pending.add(d.id);
    const sub = this.subs.get(d.subscription_id);
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
    const now = this.now();
    while (this.inFlight.size < this.options.concurrency) {
      const top = this.queue.peek();
      if (!top || top.at > now) break;
      this.queue.pop();
      const d = this.deliveries.get(top.id);
      // Stale entries: the delivery finished, was rescheduled, or is already being attempted.
      if (!d || d.status !== 'pending' || this.inFlight.has(d.id) || this.dueOf(d).at !== top.at) continue;
      const sub = this.subs.get(d.subscription_id);
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
      setTimeout(
        () => {
          this.rateTimers.delete(sub.id);
          this.release(sub.id);
        },
        Math.max(0, starts[0]! + RATE_WINDOW_MS - now),
      ).unref();
    }
    return false;
  }

  /**
   * A slot of a subscription freed: as many of its held attempts as it now has room for go back to
   * the heap, oldest first (all of them would be popped and held again: quadratic in the backlog).
   */
  private release(subId: string): void {
    const held = this.heldBySub.get(subId);
    const sub = this.subs.get(subId);
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
      .catch((err: unknown) => {
        // Most often the store could not record the result (disk full): try again later, not at once.
        this.options.logger.error({ err, delivery: d.id }, 'delivery attempt crashed');
        d.next_attempt_at = new Date(this.now() + CRASH_RETRY_MS).toISOString();
      })
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
    this.deliveries.delete(d.id);
    const key = this.recordKey(d, sub);
    this.recordOf.delete(d.id);
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

  /**
   * One attempt: reads the subscription (its secrets, headers and URL as they are now) and the
   * event, sends, then records the attempt and the retry decision in one transaction. The working
   * copy follows what was written.
   */
  private async attempt(delivery: Delivery, cached: Subscription): Promise<void> {
    const { store, logger } = this.options;
    const [event, fresh] = await Promise.all([store.getEvent(delivery.event_id), store.getSubscription(cached.id)]);
    if (!fresh || fresh.status !== 'active') {
      // Deleted or disabled since it was scheduled: the next refresh decides what waits.
      this.subs.set(cached.id, fresh ?? { ...cached, status: 'disabled' });
      delivery.status = fresh ? 'pending' : 'failed';
      return;
    }
    const sub = fresh;
    this.subs.set(sub.id, sub);
    if (!event) {
      // Cannot happen through retention (it keeps events with unfinished deliveries); never spin on it.
      await store.transaction(async (tx) => {
        const current = await tx.getDelivery(delivery.id);
        if (current) tx.putDelivery({ ...current, status: 'failed', next_attempt_at: null });
      });
      delivery.status = 'failed';
      return;
    }
    const { outcome, attempt, now } = await this.send(event, sub, this.manual.delete(delivery.id));
    // The next attempt is scheduled as soon as the result is applied; its write becomes durable in
    // the background (group commit). Should that write fail, the worker re-reads what the store holds.
    let applied!: (value: AttemptResult | null) => void;
    const appliedResult = new Promise<AttemptResult | null>((resolve) => (applied = resolve));
    const durable = store.transaction(async (tx) => {
      // The subscription or the delivery may have been deleted while the request was in flight.
      const [current, currentSub] = await Promise.all([tx.getDelivery(delivery.id), tx.getSubscription(sub.id)]);
      if (!current || !currentSub) {
        applied(null);
        return null;
      }
      const record = applyAttempt(current, currentSub, outcome, attempt, this.policy, now);
      tx.putDelivery(record.next);
      if (record.removed) await tx.deleteSubscription(currentSub.id);
      else if (record.subChanged) tx.putSubscription(record.subAfter!);
      const result: AttemptResult = { next: record.next, subAfter: record.subAfter, removed: record.removed, disabled: record.disabled };
      applied(result);
      return result;
    });
    durable.catch((err: unknown) => {
      applied(null);
      logger.error({ err, delivery: delivery.id }, 'store write failed after a delivery attempt; re-reading pending deliveries');
      setTimeout(() => void this.refresh(), CRASH_RETRY_MS).unref();
    });
    const result = await appliedResult;
    if (!result) {
      delivery.status = 'failed';
      return;
    }
    const { next, subAfter, removed, disabled } = result;
    Object.assign(delivery, {
      status: next.status,
      attempt_count: next.attempt_count,
      next_attempt_at: next.next_attempt_at,
      final_attempt: false,
    });
    if (removed) {
      logger.warn({ subscription: sub.id }, 'hook removed: its target answered 410 Gone');
      void this.refresh();
    } else if (subAfter) {
      this.subs.set(subAfter.id, subAfter);
      if (disabled && subAfter.status === 'disabled') logger.warn({ subscription: sub.id, reason: disabled }, 'subscription disabled');
    }

    reportAttempt(logger, event, sub, next, outcome, now);
  }

  /** Signs and sends one attempt (Standard Webhooks headers) and describes it as an `Attempt`. */
  async send(event: StoredEvent, sub: Subscription, manual: boolean): Promise<{ outcome: AttemptOutcome; attempt: Attempt; now: number }> {
    const body = deliveryBody(event.payload, sub, this.options.apiBase);
    const timestamp = Math.floor(this.now() / 1000);
    const attemptedAt = new Date(this.now()).toISOString();
    const outcome = await this.options.sender.post(sub.url, body, {
      ...sub.headers,
      [HEADER_ID]: event.payload.id,
      [HEADER_TIMESTAMP]: String(timestamp),
      [HEADER_SIGNATURE]: sign(this.validSecrets(sub), event.payload.id, timestamp, body),
    });
    const attempt: Attempt = {
      id: newId('att'),
      attempted_at: attemptedAt,
      duration_ms: outcome.durationMs,
      status_code: outcome.statusCode,
      error: outcome.error,
      error_message: outcome.errorMessage,
      response_excerpt: outcome.responseExcerpt,
      response_headers: outcome.responseHeaders,
      trigger: manual ? 'manual' : 'schedule',
    };
    return { outcome, attempt, now: this.now() };
  }

  /** The current secret first, then rotated-out secrets still within their grace period. */
  private validSecrets(sub: Subscription): string[] {
    const now = this.now();
    return [sub.secret, ...sub.previous_secrets.filter((p) => Date.parse(p.expires_at) > now).map((p) => p.secret)];
  }
}

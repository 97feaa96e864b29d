import type { Logger } from 'pino';
import type { Attempt, Delivery, StoredEvent, Subscription } from '../store/schema.js';
import type { ClaimedDelivery, SharedStore, Store } from '../store/store.js';
import { reportAttempt } from './attempt-report.js';
import { applyAttempt, type RetryPolicy } from './record.js';
import type { AttemptOutcome } from './sender.js';

export interface SharedLoopOptions {
  store: Store;
  shared: SharedStore;
  logger: Logger;
  /** Requests of this process in flight at once; claims it holds (ready, in flight, being recorded) are at most twice this. */
  concurrency: number;
  /** This process (`BRIDGE_INSTANCE_ID`). */
  holder: string;
  /** How long a claim holds if this process dies mid-attempt (ms): longer than an attempt's timeout plus 1 s (`MAX_READY_MS`). */
  claimTtlMs: number;
  policy: RetryPolicy;
  now: () => number;
  /** Signs and sends one attempt (the worker's `send`). */
  send: (event: StoredEvent, sub: Subscription, deliveryId: string) => Promise<{ outcome: AttemptOutcome; attempt: Attempt; now: number }>;
}

/** An attempt sent, waiting to be recorded. */
interface Sent {
  claim: ClaimedDelivery;
  /** Null: the event is gone, the delivery is failed without a request. */
  result: { outcome: AttemptOutcome; attempt: Attempt; now: number } | null;
}

/** A claim waiting for a free request slot, and when it was claimed (`now()`, ms). */
interface Ready {
  claim: ClaimedDelivery;
  at: number;
}

/** The loop asks the database again at least this often (another process's claims, notices missed). */
const MAX_SLEEP_MS = 30_000;
/**
 * Due deliveries held back (a limit, per-record order behind a retry, a row locked by another
 * process): asked again after this, doubling while nothing can be claimed, up to `HELD_RETRY_MAX_MS`.
 */
const HELD_RETRY_MS = 250;
const HELD_RETRY_MAX_MS = 2_000;
/** After a claim failed (database down), the next one waits this long. */
const ERROR_RETRY_MS = 1_000;
/** How often the pending gauge of `/metrics` is re-counted. */
const COUNT_INTERVAL_MS = 15_000;
/**
 * Claims are taken ahead of free request slots only while requests take less than this on average:
 * then a claim waits for its slot a few ms, and its subscription's `rate_limit_per_second`, counted
 * at claim time, still holds at the receiver within that.
 */
const PREFETCH_SEND_MS = 100;
/** A claim that waited longer than this for a request slot (requests slowed down) is released, not sent. */
const MAX_READY_MS = 1_000;
/** Finished attempts are recorded once this many wait, or `RECORD_DELAY_MS` after the first finished. */
const RECORD_DELAY_MS = 10;

/**
 * Delivery with several bridge processes on one database (`Store.shared`): instead of scheduling
 * every pending delivery in memory, the process claims batches of due deliveries
 * (`SharedStore.claimDue`, which enforces per-record order and each subscription's `max_in_flight`
 * and `rate_limit_per_second` over every process), sends them, and records their results in batches
 * (`SharedStore.recordClaimed`, one statement for most, `recordAttempts`, one transaction, for those
 * that change their subscription).
 *
 * Three things overlap, so the database's round trips do not leave request slots idle: up to
 * `concurrency` requests are in flight; while requests are fast, up to as many claims again wait
 * ready for a slot (claimed while the others are sent); finished attempts are recorded in batches
 * in the background, and hold no request slot meanwhile. Claims held from claim until recorded are
 * at most twice `concurrency`. It claims again when that leaves room for a quarter of `concurrency`,
 * when a notice (LISTEN/NOTIFY) or `wake()` says new work was committed, and otherwise when the next
 * delivery falls due. Memory holds only those claims. A claim is held from the claim until its
 * attempt is recorded; if the process dies, it expires after `claimTtlMs` and another process sends
 * the attempt again (same `webhook-id`).
 */
export class SharedDeliveryLoop {
  private stopped = true;
  /** Claimed and not yet recorded (ready, sending, or waiting to be recorded). */
  private holding = 0;
  /** Requests in flight. */
  private sending = 0;
  private ready: Ready[] = [];
  private readonly sends = new Set<Promise<void>>();
  private unrecorded: Sent[] = [];
  private recording: Promise<void> | null = null;
  private recordTimer: NodeJS.Timeout | null = null;
  private releasing: Promise<void> = Promise.resolve();
  private claiming: Promise<void> | null = null;
  /** Average duration of recent requests (ms): decides whether claims are taken ahead of slots. */
  private sendMs = 0;
  private heldRetryMs = HELD_RETRY_MS;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private pending = 0;
  private unlisten: (() => void) | null = null;
  private counter: NodeJS.Timeout | null = null;

  constructor(private readonly o: SharedLoopOptions) {}

  /** Ends this holder's leftover claims (a previous process of the same id died), then starts claiming. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.o.shared.releaseClaims(this.o.holder);
    this.unlisten = this.o.shared.onDeliveries(() => this.wake());
    this.counter = setInterval(() => void this.count(), COUNT_INTERVAL_MS);
    this.counter.unref();
    void this.count();
    this.wake();
  }

  /** New work may be due: claim now (coalesced with a claim already running). */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = this.claim().finally(() => {
      this.claiming = null;
      // A wake that came after the claim's last look at `again`.
      if (this.again) this.wake();
    });
  }

  /** Pending deliveries of every process, as last counted. */
  pendingCount(): number {
    return this.pending;
  }

  /** Stops claiming; releases the claims not yet sent, waits for the attempts in flight and records them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.counter) clearInterval(this.counter);
    // A claim under way puts what it claimed in `ready`: released with the rest.
    await this.claiming;
    this.release(this.ready.splice(0).map((r) => r.claim));
    await Promise.allSettled([...this.sends]);
    this.recordSoon(true);
    while (this.recording) await this.recording;
    await this.releasing;
  }

  private async count(): Promise<void> {
    this.pending = await this.o.shared.countPending().catch(() => this.pending);
  }

  private sleepUntil(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Infinity;
        this.wake();
      },
      Math.max(0, at - this.o.now()),
    );
  }

  /** How many more claims are wanted now: slots without a claim waiting, plus the read-ahead while requests are fast. */
  private room(): number {
    const { concurrency } = this.o;
    const target = this.sendMs < PREFETCH_SEND_MS ? 2 * concurrency : concurrency;
    return Math.min(target - this.ready.length - this.sending, 2 * concurrency - this.holding);
  }

  /**
   * Claims while there is room: a batch is worth a round trip once a quarter of `concurrency` is
   * wanted (or nothing is claimed). A short batch means nothing more is due now: sleep until `nextAt`.
   */
  private async claim(): Promise<void> {
    try {
      for (;;) {
        this.again = false;
        if (this.stopped) return;
        const room = this.room();
        if (room <= 0 || (this.ready.length + this.sending > 0 && room < Math.max(1, Math.floor(this.o.concurrency / 4)))) return; // a finished request or a record wakes
        const now = this.o.now();
        const batch = await this.o.shared.claimDue(this.o.holder, this.o.claimTtlMs, room, new Date(now).toISOString());
        this.holding += batch.claimed.length;
        for (const claim of batch.claimed) this.ready.push({ claim, at: now });
        if (this.stopped) return; // `stop()` releases them
        this.launch();
        if (batch.claimed.length > 0) this.heldRetryMs = HELD_RETRY_MS;
        if (batch.claimed.length < room) {
          const held = batch.nextAt !== null && batch.nextAt <= now;
          if (held && batch.claimed.length === 0) this.heldRetryMs = Math.min(this.heldRetryMs * 2, HELD_RETRY_MAX_MS);
          const at =
            batch.nextAt === null ? now + MAX_SLEEP_MS : Math.min(now + MAX_SLEEP_MS, Math.max(batch.nextAt, now + this.heldRetryMs));
          this.sleepUntil(at);
          if (!this.again) return;
        }
      }
    } catch (err) {
      this.o.logger.error({ err }, 'claiming deliveries failed');
      this.sleepUntil(this.o.now() + ERROR_RETRY_MS);
    }
  }

  /** Sends ready claims while request slots are free, oldest claim first; releases those that waited too long. */
  private launch(): void {
    const stale: ClaimedDelivery[] = [];
    while (this.sending < this.o.concurrency && this.ready.length > 0 && !this.stopped) {
      const { claim, at } = this.ready.shift()!;
      if (this.o.now() - at > MAX_READY_MS) stale.push(claim);
      else this.send(claim);
    }
    this.release(stale);
  }

  private send(claim: ClaimedDelivery): void {
    this.sending += 1;
    const run = (async (): Promise<void> => {
      let result: Sent['result'] = null;
      const started = this.o.now();
      try {
        if (claim.event) result = await this.o.send(claim.event, claim.subscription, claim.delivery.id);
      } catch (err) {
        // The sender reports failures as outcomes; anything else is a bug: the claim expires and
        // the attempt is made again.
        this.o.logger.error({ err, delivery: claim.delivery.id }, 'delivery attempt crashed');
        this.holding -= 1;
        return;
      } finally {
        this.sending -= 1;
        this.sendMs += (this.o.now() - started - this.sendMs) / 8;
      }
      this.unrecorded.push({ claim, result });
      this.recordSoon();
    })();
    this.sends.add(run);
    void run.finally(() => {
      this.sends.delete(run);
      this.launch();
      this.wake();
    });
  }

  /** Gives up claims not sent (`stop()`, or they waited too long): another process, or this one, may claim them again at once. */
  private release(claims: ClaimedDelivery[]): void {
    if (claims.length === 0) return;
    const ids = claims.map((c) => c.delivery.id);
    this.releasing = this.releasing
      .then(() => this.o.shared.releaseClaims(this.o.holder, ids))
      .catch((err: unknown) => this.o.logger.error({ err, deliveries: ids.length }, 'releasing claims failed; they expire instead'))
      .finally(() => {
        this.holding -= claims.length;
        this.wake();
      });
  }

  /**
   * Records what finished: at once when a batch's worth waits (half of `concurrency`), nothing is
   * in flight or `now` says so (stopping), otherwise `RECORD_DELAY_MS` after the first, so one
   * statement carries many attempts. One recording at a time; what finishes meanwhile goes next.
   */
  private recordSoon(now = false): void {
    if (this.recording || this.unrecorded.length === 0) return;
    if (now || this.sending === 0 || this.unrecorded.length >= Math.max(1, Math.floor(this.o.concurrency / 2))) {
      if (this.recordTimer) clearTimeout(this.recordTimer);
      this.recordTimer = null;
      this.recording = this.record();
    } else {
      this.recordTimer ??= setTimeout(() => {
        this.recordTimer = null;
        this.recordSoon(true);
      }, RECORD_DELAY_MS);
    }
  }

  /** Records what finished, a batch at a time, until nothing is left; frees the claims. */
  private async record(): Promise<void> {
    while (this.unrecorded.length > 0) {
      const batch = this.unrecorded.splice(0);
      try {
        await this.recordBatch(batch);
      } catch (err) {
        // Not recorded: the claims stay until they expire, then the attempts are made again.
        this.o.logger.error(
          { err, deliveries: batch.length },
          'store write failed after delivery attempts; they are retried when their claims expire',
        );
      } finally {
        this.holding -= batch.length;
      }
    }
    this.recording = null;
    this.wake();
  }

  /**
   * Most attempts change only their delivery (a success of a healthy subscription, a retry of one
   * already failing): those are written in one statement guarded by the claim. The rest, which change
   * their subscription too, are read, decided and written in one transaction.
   */
  private async recordBatch(batch: Sent[]): Promise<void> {
    const quick: Array<{ sent: Sent; next: Delivery; disabled: null; removed: false }> = [];
    const slow: Sent[] = [];
    for (const sent of batch) {
      const { delivery, subscription } = sent.claim;
      const r =
        sent.result && applyAttempt(delivery, subscription, sent.result.outcome, sent.result.attempt, this.o.policy, sent.result.now);
      if (r && !r.subChanged) quick.push({ sent, next: r.next, disabled: null, removed: false });
      else slow.push(sent);
    }
    const [written, done] = await Promise.all([
      this.o.shared.recordClaimed(
        this.o.holder,
        quick.map((q) => ({ delivery: q.next, claimedAttemptCount: q.sent.claim.delivery.attempt_count })),
      ),
      slow.length > 0 ? this.recordWithSubscriptions(slow) : [],
    ]);
    this.report([...quick.filter((q) => written.has(q.next.id)), ...done]);
  }

  private async recordWithSubscriptions(
    batch: Sent[],
  ): Promise<Array<{ sent: Sent; next: Delivery; disabled: 'gone' | 'failing' | null; removed: boolean }>> {
    return this.o.shared.recordAttempts(
      batch.map((s) => s.claim.delivery.id),
      async (tx, current) => {
        const subs = new Map<string, Subscription | null>();
        const changed = new Set<string>();
        const out: Array<{ sent: Sent; next: Delivery; disabled: 'gone' | 'failing' | null; removed: boolean }> = [];
        for (const sent of batch) {
          const d = current.get(sent.claim.delivery.id);
          // Deleted meanwhile (with its subscription), or no longer this attempt's to record.
          if (!d || d.status !== 'pending' || d.attempt_count !== sent.claim.delivery.attempt_count) continue;
          if (!sent.result) {
            // Cannot happen through retention (it keeps events with unfinished deliveries); never spin on it.
            tx.putDelivery({ ...d, status: 'failed', next_attempt_at: null });
            continue;
          }
          const subId = d.subscription_id;
          if (!subs.has(subId)) subs.set(subId, (await tx.getSubscription(subId)) ?? null);
          const sub = subs.get(subId);
          if (!sub) continue;
          const r = applyAttempt(d, sub, sent.result.outcome, sent.result.attempt, this.o.policy, sent.result.now);
          tx.putDelivery(r.next);
          if (r.removed) {
            await tx.deleteSubscription(subId);
            subs.set(subId, null);
            changed.delete(subId);
          } else if (r.subChanged) {
            subs.set(subId, r.subAfter);
            changed.add(subId);
          }
          out.push({ sent, next: r.next, disabled: r.disabled, removed: r.removed });
        }
        for (const id of changed) tx.putSubscription(subs.get(id)!);
        return out;
      },
    );
  }

  /** Metrics and one log line per recorded attempt. */
  private report(done: Array<{ sent: Sent; next: Delivery; disabled: 'gone' | 'failing' | null; removed: boolean }>): void {
    const { logger } = this.o;
    for (const { sent, next, disabled, removed } of done) {
      const { outcome } = sent.result!;
      const { event, subscription: sub } = sent.claim;
      if (removed) logger.warn({ subscription: sub.id }, 'hook removed: its target answered 410 Gone');
      else if (disabled && sub.status === 'active') logger.warn({ subscription: sub.id, reason: disabled }, 'subscription disabled');
      reportAttempt(logger, event!, sub, next, outcome, sent.result!.now);
    }
  }
}

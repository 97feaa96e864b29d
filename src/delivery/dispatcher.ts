import type { Store, StoreTx } from '../store/store.js';
import type { Delivery } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { matchesEventType } from './match.js';

/**
 * Fans stored events out to the active subscriptions whose `event_types` match, creating one
 * pending delivery per (event, subscription). An event is marked dispatched in the same transaction
 * as its deliveries, so after a crash undispatched events are dispatched again at startup. Calls are
 * serialised, so the sweep and the poller never dispatch one event twice.
 */
export class Dispatcher {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    /** Receives the deliveries once they are durable. */
    private readonly onDeliveries: (deliveries: Delivery[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Dispatches the given (durably stored) events; already dispatched ones are skipped. */
  async dispatch(eventIds: readonly string[]): Promise<Delivery[]> {
    if (eventIds.length === 0) return [];
    // One dispatch at a time: the sweep and the poller never dispatch one event twice.
    const run = this.chain.then(() => this.createDeliveries(eventIds));
    this.chain = run.catch(() => undefined);
    const created = await run;
    this.created(created);
    return created;
  }

  private createDeliveries(eventIds: readonly string[]): Promise<Delivery[]> {
    return this.store.transaction(async (tx) => {
      const subscriptions = (await tx.listSubscriptions()).filter((s) => s.status === 'active');
      const created: Delivery[] = [];
      const dispatched: string[] = [];
      for (const id of eventIds) {
        const event = await tx.getEvent(id);
        if (!event || event.dispatched) continue;
        for (const sub of subscriptions) {
          if (matchesEventType(sub.event_types, event.payload.type)) created.push(this.createDelivery(tx, id, sub.id, 'dispatch'));
        }
        dispatched.push(id);
      }
      tx.markDispatched(dispatched);
      return created;
    });
  }

  /** Dispatches every event a crash or a failed write left undispatched, oldest first. */
  async dispatchPending(): Promise<Delivery[]> {
    const { data } = await this.store.listEvents({ undispatched: true });
    return this.dispatch(data.map((e) => e.payload.id).reverse());
  }

  /**
   * New deliveries of already dispatched events (replay): same event, same `webhook-id`. Runs in the
   * caller's transaction, so a replay and its audit entry are one write.
   * @param targets (event id, subscription id) pairs, validated by the caller.
   */
  replay(tx: StoreTx, targets: ReadonlyArray<{ eventId: string; subscriptionId: string }>): Delivery[] {
    return targets.map((t) => this.createDelivery(tx, t.eventId, t.subscriptionId, 'replay'));
  }

  /** Hands deliveries created in a committed transaction (replay) to the worker. */
  created(deliveries: Delivery[]): void {
    if (deliveries.length > 0) this.onDeliveries(deliveries);
  }

  private createDelivery(tx: StoreTx, eventId: string, subscriptionId: string, trigger: Delivery['trigger']): Delivery {
    const at = new Date(this.now()).toISOString();
    const delivery: Delivery = {
      id: newId('dlv'),
      event_id: eventId,
      subscription_id: subscriptionId,
      status: 'pending',
      trigger,
      attempt_count: 0,
      next_attempt_at: at,
      final_attempt: false,
      created_at: at,
      updated_at: at,
      attempts: [],
    };
    tx.putDelivery(delivery);
    return delivery;
  }
}

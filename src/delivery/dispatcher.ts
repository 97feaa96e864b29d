import type { Store } from '../store/store.js';
import type { Delivery } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { matchesEventType } from './match.js';

/**
 * Fans stored events out to the active subscriptions whose `event_types` match, creating one
 * pending delivery per (event, subscription). An event is marked dispatched in the same write as its
 * deliveries, so after a crash undispatched events are dispatched again at startup.
 */
export class Dispatcher {
  constructor(
    private readonly store: Store,
    private readonly onDeliveries: (deliveries: Delivery[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Dispatches the given (durably stored) events; already dispatched ones are skipped. */
  dispatch(eventIds: readonly string[]): Delivery[] {
    const created: Delivery[] = [];
    const subscriptions = Object.values(this.store.data.subscriptions).filter((s) => s.status === 'active');
    for (const id of eventIds) {
      const event = this.store.getEvent(id);
      if (!event || event.dispatched) continue;
      for (const sub of subscriptions) {
        if (matchesEventType(sub.event_types, event.payload.type)) created.push(this.createDelivery(id, sub.id, 'dispatch'));
      }
      event.dispatched = true;
      this.store.touchEvent(id);
    }
    this.finish(created);
    return created;
  }

  /** Dispatches every event a crash left undispatched. */
  dispatchPending(): Delivery[] {
    return this.dispatch(this.store.data.events.filter((e) => !e.dispatched).map((e) => e.payload.id));
  }

  /**
   * New deliveries of already dispatched events (replay): same event, same `webhook-id`.
   * @param targets (event id, subscription id) pairs, validated by the caller.
   */
  replay(targets: ReadonlyArray<{ eventId: string; subscriptionId: string }>): Delivery[] {
    const created = targets.map((t) => this.createDelivery(t.eventId, t.subscriptionId, 'replay'));
    this.finish(created);
    return created;
  }

  private createDelivery(eventId: string, subscriptionId: string, trigger: Delivery['trigger']): Delivery {
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
    this.store.putDelivery(delivery);
    return delivery;
  }

  private finish(created: Delivery[]): void {
    if (created.length > 0) this.onDeliveries(created);
  }
}

import type { Delivery } from './schema.js';
import { IdColumns, Interner } from './id-columns.js';

/** What finding and counting deliveries needs of one, as the delivery index table stores it: `[event_id, subscription_id, status]`. */
export type DeliveryIndexEntry = readonly [event_id: string, subscription_id: string, status: Delivery['status']];

const STATUSES: readonly Delivery['status'][] = ['pending', 'succeeded', 'failed'];

/** The index entry of a delivery. */
export function deliveryEntry(d: Pick<Delivery, 'event_id' | 'subscription_id' | 'status'>): DeliveryIndexEntry {
  return [d.event_id, d.subscription_id, d.status];
}

/**
 * Every delivery's event, subscription and status, in memory, columnar and in ascending id
 * (creation) order; the rest of a delivery (times, attempts) is read from disk when asked for.
 * Subscriptions and statuses are numbered; event ids are the event index's own strings where the
 * caller passes them so (`EventIndex.canonical`). Per event, its deliveries' ids, for the views of one
 * event (`GET /v1/events/:id`, retention).
 */
export class DeliveryIndex {
  private readonly events: string[] = [];
  private readonly subs: number[] = [];
  private readonly statuses: number[] = [];
  private readonly rows = new IdColumns([
    [this.events, ''],
    [this.subs, 0],
    [this.statuses, 0],
  ]);
  private readonly subscriptions = new Interner();
  /** Event id → its delivery id, or ids when it has several (most events have one). */
  private readonly byEvent = new Map<string, string | string[]>();

  get length(): number {
    return this.rows.length;
  }

  position(id: string): number {
    return this.rows.position(id);
  }

  /** The entry of delivery `id`, or undefined. */
  get(id: string): DeliveryIndexEntry | undefined {
    const i = this.position(id);
    return i < 0 ? undefined : this.entryAt(i);
  }

  entryAt(i: number): DeliveryIndexEntry {
    return [this.events[i]!, this.subscriptions.string(this.subs[i]!), STATUSES[this.statuses[i]!]!];
  }

  idAt(i: number): string {
    return this.rows.ids[i]!;
  }

  eventAt(i: number): string {
    return this.events[i]!;
  }

  /** The subscription's number (compare with `subscriptionNumber`). */
  subscriptionAt(i: number): number {
    return this.subs[i]!;
  }

  statusAt(i: number): Delivery['status'] {
    return STATUSES[this.statuses[i]!]!;
  }

  /** The number `subscriptionAt` gives deliveries to `id`, or -1 when none has it. */
  subscriptionNumber(id: string): number {
    return this.subscriptions.find(id);
  }

  /** Ids of the deliveries of an event, ascending. */
  ofEvent(eventId: string): string[] {
    const v = this.byEvent.get(eventId);
    return v === undefined ? [] : typeof v === 'string' ? [v] : [...v].sort();
  }

  /** Adds or replaces a delivery's entry. */
  set(id: string, [eventId, subId, status]: DeliveryIndexEntry): void {
    const { i, existed } = this.rows.row(id);
    if (!existed) this.link(eventId, this.rows.ids[i]!);
    else if (this.events[i] !== eventId) {
      this.unlink(this.events[i]!, this.rows.ids[i]!);
      this.link(eventId, this.rows.ids[i]!);
    }
    this.events[i] = eventId;
    this.subs[i] = this.subscriptions.number(subId);
    this.statuses[i] = STATUSES.indexOf(status);
  }

  /** Removes these deliveries: one pass over the columns (one splice for a single id). */
  remove(ids: ReadonlySet<string>): void {
    this.rows.remove(ids, (i) => this.unlink(this.events[i]!, this.rows.ids[i]!));
  }

  private link(eventId: string, id: string): void {
    const v = this.byEvent.get(eventId);
    if (v === undefined) this.byEvent.set(eventId, id);
    else if (typeof v === 'string') this.byEvent.set(eventId, [v, id]);
    else v.push(id);
  }

  private unlink(eventId: string, id: string): void {
    const v = this.byEvent.get(eventId);
    if (v === id) this.byEvent.delete(eventId);
    else if (Array.isArray(v)) {
      const rest = v.filter((x) => x !== id);
      this.byEvent.set(eventId, rest.length === 1 ? rest[0]! : rest);
    }
  }
}

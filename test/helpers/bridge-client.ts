import type { Bridge } from '../../src/bridge.js';
import type { Receiver } from '../../tools/demo/receiver.js';

/** What every test harness does with its bridge: admin calls, subscribing its receiver, polling. */
export abstract class BridgeTestClient {
  receiver!: Receiver;
  bridge!: Bridge;
  /** The admin token the harness configured the bridge with. */
  abstract readonly adminToken: string;

  /** Calls the admin API (admin token by default, none with `null`); returns status and parsed JSON (or null). */
  async api(method: string, path: string, body?: unknown, token: string | null = this.adminToken): Promise<{ status: number; json: any }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.bridge.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  /** Subscribes the receiver (default: every event) and gives it the secret. */
  async subscribe(eventTypes: string[] = ['*']): Promise<string> {
    const { status, json } = await this.api('POST', '/v1/subscriptions', { url: this.receiver.url, event_types: eventTypes });
    if (status !== 201) throw new Error(`subscribe failed: ${status} ${JSON.stringify(json)}`);
    this.receiver.secret = json.secret;
    return json.id as string;
  }

  poll(): Promise<void> {
    return this.bridge.poller.pollNow();
  }

  /**
   * Waits until every stored event has been dispatched and no delivery waits for an attempt: from then
   * on nothing reaches the receiver until something changes. Use it, not a fixed sleep, before
   * asserting that nothing more arrived. Not for subscriptions left with retries scheduled.
   */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { data } = await this.bridge.store.listEvents({ undispatched: true, limit: 1 });
      if (data.length === 0 && this.bridge.worker.pendingCount() === 0) return;
      if (Date.now() > deadline)
        throw new Error(`not settled after ${timeoutMs} ms: ${this.bridge.worker.pendingCount()} deliveries pending`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

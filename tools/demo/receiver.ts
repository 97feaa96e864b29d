import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { EventEnvelope } from '../../src/events/envelope.js';

/** One request the receiver got, with the outcome of its signature check. */
export interface ReceivedDelivery {
  id: string;
  timestamp: string;
  body: string;
  /** The body parsed with the bridge's own envelope schema. */
  payload: EventEnvelope;
  verified: boolean;
  userAgent: string | null;
  /** All request headers, lower-cased names. */
  headers: Record<string, string>;
  /** When it arrived (epoch ms). */
  receivedAt: number;
}

/**
 * A webhook receiver on 127.0.0.1 that verifies every request with the `standardwebhooks` library,
 * exactly as a user's receiver would, and answers with the statuses queued in `respondWith`, then
 * 204. The demo prints what it receives; the tests assert on it.
 */
export class Receiver {
  readonly received: ReceivedDelivery[] = [];
  /** Called for every request, verified or not. */
  onDelivery?: (delivery: ReceivedDelivery) => void;
  /**
   * Decides the answer to a request (tests: failures, `Retry-After`, redirects, slow answers).
   * Returning undefined falls back to `respondWith`, then 204.
   */
  respond?: (delivery: ReceivedDelivery) => { status: number; headers?: Record<string, string>; delayMs?: number } | undefined;
  /** Requests being handled right now, and the most at once. */
  active = 0;
  maxActive = 0;
  /** Statuses to answer with, in order; when empty, 204. */
  readonly respondWith: number[] = [];
  secret = '';
  url = '';
  private server: Server | null = null;

  async start(): Promise<this> {
    const app = new Hono().post('/hook', async (c) => {
      this.active += 1;
      this.maxActive = Math.max(this.maxActive, this.active);
      try {
        return await this.handle(c.req.raw);
      } finally {
        this.active -= 1;
      }
    });
    await new Promise<void>((resolve) => {
      this.server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve()) as Server;
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`;
    return this;
  }

  private async handle(req: Request): Promise<Response> {
    const body = await req.text();
    const headers = Object.fromEntries(req.headers.entries());
    let verified: boolean;
    try {
      new Webhook(this.secret).verify(body, headers);
      verified = true;
    } catch {
      verified = false;
    }
    const delivery: ReceivedDelivery = {
      id: headers['webhook-id'] ?? '',
      timestamp: headers['webhook-timestamp'] ?? '',
      body,
      payload: EventEnvelope.parse(JSON.parse(body)),
      verified,
      userAgent: headers['user-agent'] ?? null,
      headers,
      receivedAt: Date.now(),
    };
    this.received.push(delivery);
    this.onDelivery?.(delivery);
    const answer = this.respond?.(delivery) ?? { status: this.respondWith.shift() ?? 204 };
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    const noBody = answer.status === 204 || (answer.status >= 300 && answer.status < 400);
    return new Response(noBody ? null : JSON.stringify({ received: true }), {
      status: answer.status,
      headers: { ...(noBody ? {} : { 'content-type': 'application/json' }), ...answer.headers },
    });
  }

  /** Verified deliveries of one type. */
  ofType(type: string): ReceivedDelivery[] {
    return this.received.filter((r) => r.verified && r.payload.type === type);
  }

  types(): string[] {
    return this.received.map((r) => r.payload.type);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

import type { Server } from 'node:net';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { changedDeliveries } from '../../services/deliveries.js';
import { requireScopes } from '../../services/principal.js';
import type { Delivery } from '../../store/schema.js';
import { DeliveryStatus } from '../components.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { duration, when } from '../format.js';
import { render } from '../render.js';

/** How often the stream looks for changed deliveries. */
const TICK_MS = 1_000;
/** A stream ends after this; the browser's EventSource reconnects and resumes from its last id. */
const STREAM_MAX_MS = 5 * 60_000;
/** What the page shows before anything new arrives. */
const BACKLOG_MS = 60 * 60_000;

/** One row of the Live table, as rendered and as streamed (the same fields, so both read the same). */
export interface LiveRow {
  id: string;
  at: string;
  event_id: string;
  event_type: string;
  subscription: string;
  status: Delivery['status'];
  attempts: number;
  last: string;
}

async function rowOf(deps: ConsoleDeps, d: Delivery): Promise<LiveRow> {
  const sub = await deps.store.getSubscription(d.subscription_id);
  const last = d.attempts.at(-1);
  return {
    id: d.id,
    at: when(d.updated_at),
    event_id: d.event_id,
    event_type: (await deps.store.getEvent(d.event_id))?.payload.type ?? d.event_id,
    subscription: sub ? sub.description || sub.url : `${d.subscription_id} (deleted)`,
    status: d.status,
    attempts: d.attempt_count,
    last: last ? `${last.status_code ?? last.error ?? '—'} in ${duration(last.duration_ms)}` : 'not attempted yet',
  };
}

/** Live: deliveries and attempts as they happen (Server-Sent Events), a refresh link without JavaScript. */
export function livePages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/live', async (c) => {
    const p = c.get('principal');
    requireScopes(p, 'events:read');
    const since = new Date(Date.now() - BACKLOG_MS).toISOString();
    const changed = (await changedDeliveries(deps, p, since, 50)).reverse();
    const cursor = changed[0]?.updated_at ?? new Date().toISOString();
    const rows = await Promise.all(changed.map((d) => rowOf(deps, d)));
    return render(
      c,
      'Live',
      '/live',
      <>
        <p class="help" id="live-help">
          Deliveries created or attempted in the last hour, newest first. New ones appear here as they happen.{' '}
          <a href={`${BASE}/live`} class="refresh">
            Refresh
          </a>
        </p>
        <p class="live-state" id="live-state" role="status" aria-live="polite"></p>
        <div class="scroll">
          <table id="live" data-stream={`${BASE}/live/stream`} data-cursor={cursor} data-base={BASE}>
            <caption class="visually-hidden">Deliveries, newest change first</caption>
            <thead>
              <tr>
                <th scope="col">Changed</th>
                <th scope="col">Event</th>
                <th scope="col">Subscription</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last attempt</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                return (
                  <tr data-id={r.id}>
                    <td>{r.at}</td>
                    <td>
                      <a href={`${BASE}/events/${r.event_id}`}>{r.event_type}</a>
                    </td>
                    <td>{r.subscription}</td>
                    <td>
                      <DeliveryStatus status={r.status} />
                    </td>
                    <td class="num">{r.attempts}</td>
                    <td>{r.last}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </>,
    );
  });

  app.get('/live/stream', (c) => {
    const p = c.get('principal');
    requireScopes(p, 'events:read');
    const sessionId = c.get('session').id;
    const fromHeader = c.req.header('last-event-id') ?? c.req.query('since');
    let cursor = fromHeader && !Number.isNaN(Date.parse(fromHeader)) ? new Date(fromHeader).toISOString() : new Date().toISOString();
    // The server this request came in on: once it stops listening (the bridge is stopping), so does the stream.
    const server = (c.env as { incoming?: { socket?: { server?: Server } } } | undefined)?.incoming?.socket?.server;
    return streamSSE(c, async (stream) => {
      const started = Date.now();
      while (!stream.aborted && Date.now() - started < STREAM_MAX_MS && (server?.listening ?? true) && deps.sessions.alive(sessionId)) {
        const changed = await changedDeliveries(deps, p, cursor, 100);
        for (const d of changed) {
          await stream.writeSSE({ event: 'delivery', id: d.updated_at, data: JSON.stringify(await rowOf(deps, d)) });
          if (d.updated_at > cursor) cursor = d.updated_at;
        }
        if (changed.length === 0) await stream.write(': keep-alive\n\n');
        await stream.sleep(TICK_MS);
      }
    });
  });
}

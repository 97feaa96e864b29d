import type { Hono } from 'hono';
import { failedBySubscription, retryDelivery } from '../../services/deliveries.js';
import { holds } from '../../services/principal.js';
import { ActionButton, SubscriptionLink } from '../components.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { formTime, when } from '../format.js';
import { Csrf } from '../layout.js';
import { field, redirect, render } from '../render.js';

/** Failed deliveries (dead letters) per subscription, with retry and recover. */
export function failedPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/failed', async (c) => {
    const p = c.get('principal');
    const session = c.get('session');
    const groups = await failedBySubscription(deps, p);
    const types = new Map<string, string>();
    for (const g of groups)
      for (const d of g.failed) types.set(d.event_id, (await deps.store.getEvent(d.event_id))?.payload.type ?? d.event_id);
    const dayAgo = formTime(new Date(Date.now() - 86_400_000).toISOString());
    return render(
      c,
      'Failed deliveries',
      '/failed',
      <>
        <p class="help">
          A delivery is failed once every retry of its schedule failed. Retry one now, or recover a whole time window of one subscription.
        </p>
        {groups.length === 0 ? <p>No failed deliveries.</p> : null}
        {groups.map(({ subscription: sub, failed, total }) => (
          <section class="card" aria-labelledby={`f-${sub.id}`}>
            <h2 id={`f-${sub.id}`}>
              <SubscriptionLink sub={sub} id={sub.id} /> — {total} failed
            </h2>
            {sub.status !== 'active' ? <p class="help">This subscription is disabled: enable it before retrying.</p> : null}
            {sub.status === 'active' && holds(p, 'subscriptions:write') ? (
              <form method="post" action={`${BASE}/subscriptions/${sub.id}/recover`} class="inline-form">
                <Csrf session={session} />
                <label for={`since-${sub.id}`}>Recover failed deliveries created since (UTC)</label>{' '}
                <input id={`since-${sub.id}`} name="since" type="datetime-local" required value={dayAgo} />{' '}
                <button type="submit">Recover</button>
              </form>
            ) : null}
            <table>
              <caption class="visually-hidden">Newest failed deliveries of this subscription</caption>
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {failed.map((d) => {
                  const last = d.attempts.at(-1);
                  return (
                    <tr>
                      <td>{when(d.created_at)}</td>
                      <td>
                        <a href={`${BASE}/events/${d.event_id}`}>{types.get(d.event_id)}</a>
                      </td>
                      <td class="num">{d.attempt_count}</td>
                      <td>{last ? `${last.status_code ?? last.error ?? '—'} at ${when(last.attempted_at)}` : '—'}</td>
                      <td>
                        {sub.status === 'active' && holds(p, 'deliveries:write') ? (
                          <ActionButton session={session} action={`/deliveries/${d.id}/retry`} label="Retry" hidden={{ back: '/failed' }} />
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        ))}
      </>,
    );
  });

  app.post('/deliveries/:id/retry', async (c) => {
    const d = await retryDelivery(deps, c.get('caller'), c.req.param('id'));
    const back = field(c, 'back');
    const to = back && /^\/(failed|events\/evt_[0-9A-Z]+)$/.test(back) ? back : `/events/${d.event_id}`;
    return redirect(c, to, { kind: 'notice', message: 'Retry queued: one more attempt now.' });
  });
}

import type { Context, Hono } from 'hono';
import { holds } from '../../services/principal.js';
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS } from '../../services/subscription-input.js';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  recoverFailed,
  rotateSecret,
  sendTestEvent,
  subscriptionDeliveries,
  subscriptionHealth,
  updateSubscription,
  visibleSubscriptions,
} from '../../services/subscriptions.js';
import { ActionButton, Badge, DeliveryStatus, HealthBadge } from '../components.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { ago, formTime, parseFormTime, when } from '../format.js';
import { Csrf } from '../layout.js';
import { field, redirect, render } from '../render.js';
import { parseSubscriptionForm, submittedValues, SubscriptionForm, valuesOf } from '../subscription-form.js';

type C = Context<ConsoleEnv>;

const GRACE_CHOICES = [
  { seconds: 0, label: 'none: the old secret stops at once' },
  { seconds: 3_600, label: '1 hour' },
  { seconds: DEFAULT_GRACE_SECONDS, label: '24 hours' },
  { seconds: 7 * 86_400, label: '7 days' },
];

/** Subscriptions: the list with health, create, one subscription's page, edit, disable/enable, rotate, test, delete, recover. */
export function subscriptionPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/subscriptions', async (c) => {
    const p = c.get('principal');
    const subs = (await visibleSubscriptions(deps, p)).reverse();
    const health = new Map(await Promise.all(subs.map(async (s) => [s.id, await subscriptionHealth(deps, s)] as const)));
    return render(
      c,
      'Subscriptions',
      '/subscriptions',
      <>
        {holds(p, 'subscriptions:write') ? (
          <p>
            <a class="button" href={`${BASE}/subscriptions/new`}>
              New subscription
            </a>
          </p>
        ) : null}
        {subs.length === 0 ? (
          <p>No subscriptions yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption class="visually-hidden">Subscriptions, newest first, with their deliveries of the last 24 hours</caption>
              <thead>
                <tr>
                  <th scope="col">Subscription</th>
                  <th scope="col">Event types</th>
                  <th scope="col">Health</th>
                  <th scope="col">Succeeded (24 h)</th>
                  <th scope="col">Failed (24 h)</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Last attempt</th>
                </tr>
              </thead>
              <tbody>
                {subs.map((sub) => {
                  const h = health.get(sub.id)!;
                  return (
                    <tr>
                      <td>
                        <a href={`${BASE}/subscriptions/${sub.id}`}>{sub.description || sub.url}</a>
                        <br />
                        <span class="muted mono">{sub.url}</span>
                      </td>
                      <td class="mono">{sub.event_types.join(', ')}</td>
                      <td>
                        <HealthBadge sub={sub} health={h} />
                      </td>
                      <td class="num">{h.succeeded}</td>
                      <td class="num">{h.failed}</td>
                      <td class="num">{h.pending}</td>
                      <td>{ago(h.last_attempt_at)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </>,
    );
  });

  app.get('/subscriptions/new', (c) =>
    render(
      c,
      'New subscription',
      '/subscriptions',
      <SubscriptionForm
        session={c.get('session')}
        action={`${BASE}/subscriptions`}
        values={valuesOf(null)}
        submitLabel="Create subscription"
      />,
    ),
  );

  app.post('/subscriptions', async (c) => {
    const parsed = parseSubscriptionForm(c, true);
    if (!parsed.ok) {
      return render(
        c,
        'New subscription',
        '/subscriptions',
        <SubscriptionForm
          session={c.get('session')}
          action={`${BASE}/subscriptions`}
          values={submittedValues(c, [])}
          errors={parsed.errors}
          submitLabel="Create subscription"
        />,
        400,
      );
    }
    const sub = await createSubscription(deps, c.get('caller'), parsed.value);
    return redirect(c, `/subscriptions/${sub.id}`, { kind: 'notice', message: 'Subscription created.', secret: sub.secret });
  });

  app.get('/subscriptions/:id', (c) => detailPage(c, deps));

  app.post('/subscriptions/:id', async (c) => {
    const id = c.req.param('id');
    const sub = await getSubscription(deps, c.get('principal'), id);
    const parsed = parseSubscriptionForm(c, false);
    if (!parsed.ok) return detailPage(c, deps, parsed.errors, Object.keys(sub.headers));
    await updateSubscription(deps, c.get('caller'), id, parsed.value);
    return redirect(c, `/subscriptions/${id}`, { kind: 'notice', message: 'Changes saved.' });
  });

  app.post('/subscriptions/:id/disable', async (c) => {
    const id = c.req.param('id');
    await updateSubscription(deps, c.get('caller'), id, { status: 'disabled' });
    return redirect(c, `/subscriptions/${id}`, {
      kind: 'notice',
      message: 'Disabled: nothing is sent to it, and events detected meanwhile are not queued for it (replay them after enabling).',
    });
  });

  app.post('/subscriptions/:id/enable', async (c) => {
    const id = c.req.param('id');
    await updateSubscription(deps, c.get('caller'), id, { status: 'active' });
    return redirect(c, `/subscriptions/${id}`, { kind: 'notice', message: 'Enabled: its pending deliveries resume.' });
  });

  app.post('/subscriptions/:id/rotate', async (c) => {
    const id = c.req.param('id');
    const grace = Number(field(c, 'grace_period_seconds') ?? DEFAULT_GRACE_SECONDS);
    const seconds = Number.isInteger(grace) && grace >= 0 && grace <= MAX_GRACE_SECONDS ? grace : DEFAULT_GRACE_SECONDS;
    const rotated = await rotateSecret(deps, c.get('caller'), id, seconds);
    return redirect(c, `/subscriptions/${id}`, {
      kind: 'notice',
      message: rotated.previous_secret_expires_at
        ? `Secret rotated; the old one also signs until ${when(rotated.previous_secret_expires_at)}.`
        : 'Secret rotated; the old one no longer signs.',
      secret: rotated.secret,
    });
  });

  app.post('/subscriptions/:id/test', async (c) => {
    const id = c.req.param('id');
    const { event_id } = await sendTestEvent(deps, c.get('caller'), id);
    return redirect(c, `/events/${event_id}`, { kind: 'notice', message: 'Test event queued for this subscription.' });
  });

  app.get('/subscriptions/:id/delete', async (c) => {
    const sub = await getSubscription(deps, c.get('principal'), c.req.param('id'));
    return render(
      c,
      'Delete subscription?',
      '/subscriptions',
      <form method="post" action={`${BASE}/subscriptions/${sub.id}/delete`} class="card narrow">
        <Csrf session={c.get('session')} />
        <p>
          Delete <strong>{sub.description || sub.url}</strong> (<span class="mono">{sub.id}</span>)? Its pending deliveries are never sent
          and its delivery history goes with it. This cannot be undone.
        </p>
        <button type="submit" class="danger">
          Delete subscription
        </button>{' '}
        <a href={`${BASE}/subscriptions/${sub.id}`}>Cancel</a>
      </form>,
    );
  });

  app.post('/subscriptions/:id/delete', async (c) => {
    await deleteSubscription(deps, c.get('caller'), c.req.param('id'));
    return redirect(c, '/subscriptions', { kind: 'notice', message: 'Subscription deleted.' });
  });

  app.post('/subscriptions/:id/recover', async (c) => {
    const id = c.req.param('id');
    const since = parseFormTime(field(c, 'since'));
    const until = parseFormTime(field(c, 'until'));
    if (!since) return redirect(c, `/subscriptions/${id}`, { kind: 'error', message: 'Recover needs a "since" time.' });
    const n = await recoverFailed(deps, c.get('caller'), id, since, until);
    return redirect(c, `/subscriptions/${id}`, { kind: 'notice', message: `${n} failed deliveries queued for one more attempt.` });
  });
}

/** One subscription: its settings, actions, the edit form and its recent deliveries. */
async function detailPage(c: C, deps: ConsoleDeps, errors?: string[], headerNames?: string[]): Promise<Response> {
  const p = c.get('principal');
  const session = c.get('session');
  const sub = await getSubscription(deps, p, c.req.param('id')!);
  const h = await subscriptionHealth(deps, sub);
  const recent = await subscriptionDeliveries(deps, p, sub.id, { limit: 20 });
  const types = new Map<string, string | undefined>();
  for (const d of recent.data) types.set(d.event_id, (await deps.store.getEvent(d.event_id))?.payload.type);
  const canWrite = holds(p, 'subscriptions:write');
  const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
  return render(
    c,
    sub.description || sub.url,
    '/subscriptions',
    <>
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{sub.id}</dd>
        <dt>URL</dt>
        <dd class="mono">{sub.url}</dd>
        <dt>Health</dt>
        <dd>
          <HealthBadge sub={sub} health={h} /> {sub.failing_since ? `every attempt failed since ${when(sub.failing_since)}` : null}
          {sub.disabled_at ? ` since ${when(sub.disabled_at)}` : null}
        </dd>
        <dt>Event types</dt>
        <dd class="mono">{sub.event_types.join(', ')}</dd>
        <dt>Payload</dt>
        <dd>
          {sub.payload}
          {sub.fields ? ` (fields: ${sub.fields.join(', ')})` : ''}; ordering {sub.ordering}
        </dd>
        <dt>Created</dt>
        <dd>{when(sub.created_at)}</dd>
      </dl>
      {canWrite ? (
        <section aria-labelledby="actions" class="actions">
          <h2 id="actions">Actions</h2>
          <div class="row">
            {sub.status === 'active' ? (
              <ActionButton session={session} action={`/subscriptions/${sub.id}/disable`} label="Disable" />
            ) : (
              <ActionButton session={session} action={`/subscriptions/${sub.id}/enable`} label="Enable" />
            )}
            {sub.status === 'active' ? (
              <ActionButton session={session} action={`/subscriptions/${sub.id}/test`} label="Send test event" />
            ) : null}
            <a class="button danger" href={`${BASE}/subscriptions/${sub.id}/delete`}>
              Delete…
            </a>
          </div>
          <form method="post" action={`${BASE}/subscriptions/${sub.id}/rotate`} class="inline-form">
            <Csrf session={session} />
            <label for="grace">Old secret keeps signing for</label>{' '}
            <select id="grace" name="grace_period_seconds">
              {GRACE_CHOICES.map((g) => (
                <option value={String(g.seconds)} selected={g.seconds === DEFAULT_GRACE_SECONDS}>
                  {g.label}
                </option>
              ))}
            </select>{' '}
            <button type="submit">Rotate secret</button>
          </form>
          {sub.status === 'active' ? (
            <form method="post" action={`${BASE}/subscriptions/${sub.id}/recover`} class="inline-form">
              <Csrf session={session} />
              <label for="recover-since">Retry failed deliveries created since (UTC)</label>{' '}
              <input id="recover-since" name="since" type="datetime-local" required value={formTime(dayAgo)} />{' '}
              <label for="recover-until">until (UTC, optional)</label> <input id="recover-until" name="until" type="datetime-local" />{' '}
              <button type="submit">Recover</button>
            </form>
          ) : null}
        </section>
      ) : null}
      <section aria-labelledby="recent">
        <h2 id="recent">Recent deliveries</h2>
        {recent.data.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption class="visually-hidden">The 20 newest deliveries of this subscription</caption>
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                </tr>
              </thead>
              <tbody>
                {recent.data.map((d) => {
                  const last = d.attempts.at(-1);
                  const type = types.get(d.event_id);
                  return (
                    <tr>
                      <td>{when(d.created_at)}</td>
                      <td>
                        <a href={`${BASE}/events/${d.event_id}`}>{type ?? d.event_id}</a>
                        {d.trigger === 'replay' ? (
                          <>
                            {' '}
                            <Badge tone="muted">replay</Badge>
                          </>
                        ) : null}
                      </td>
                      <td>
                        <DeliveryStatus status={d.status} />
                      </td>
                      <td class="num">{d.attempt_count}</td>
                      <td>{last ? (last.status_code ?? last.error ?? '—') : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {canWrite ? (
        <section aria-labelledby="edit">
          <h2 id="edit">Edit</h2>
          <SubscriptionForm
            session={session}
            action={`${BASE}/subscriptions/${sub.id}`}
            values={errors ? submittedValues(c, headerNames ?? []) : valuesOf(sub)}
            errors={errors}
            submitLabel="Save changes"
          />
        </section>
      ) : null}
    </>,
    errors ? 400 : 200,
  );
}

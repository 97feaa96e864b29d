import type { Hono } from 'hono';
import { EVENT_CATALOGUE } from '../../catalog/index.js';
import { EVENT_TYPE_PATTERN } from '../../delivery/match.js';
import { recordAudit } from '../../services/audit.js';
import { getEvent, listEvents, replayEvent, type EventFilter } from '../../services/events.js';
import { holds } from '../../services/principal.js';
import { visibleSubscriptions } from '../../services/subscriptions.js';
import { ActionButton, Badge, DeliveryStatus, Pager, SubscriptionLink } from '../components.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { cut, duration, formTime, parseFormTime, when } from '../format.js';
import { Csrf } from '../layout.js';
import { maskEvent } from '../mask.js';
import { field, redirect, render } from '../render.js';

const PAGE_SIZE = 50;
const RESOURCES = [...new Set(EVENT_CATALOGUE.map((d) => d.type.split('.')[0]!))];

/** Events: the filtered, paged list; one event with its payload, deliveries and attempts; replay. */
export function eventPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/events', async (c) => {
    const q = c.req.query();
    const problems: string[] = [];
    const type = q.type?.trim() || undefined;
    if (type && !EVENT_TYPE_PATTERN.test(type)) problems.push('Type must be an event type such as patient.updated, or resource.*');
    const filter: EventFilter = {
      type: type && EVENT_TYPE_PATTERN.test(type) ? type : undefined,
      resource: q.resource?.trim() || undefined,
      resource_id: q.resource_id?.trim() || undefined,
      since: parseFormTime(q.since),
      until: parseFormTime(q.until),
    };
    const before = q.before && /^evt_[0-9A-Z]+$/.test(q.before) ? q.before : undefined;
    const page = await listEvents(deps, c.get('principal'), filter, PAGE_SIZE, before);
    return render(
      c,
      'Events',
      '/events',
      <>
        <form method="get" action={`${BASE}/events`} class="card filters" role="search" aria-label="Filter events">
          <p>
            <label for="f-type">Type</label>
            <input id="f-type" name="type" list="event-types" value={q.type ?? ''} placeholder="e.g. patient.* " />
            <datalist id="event-types">
              {EVENT_CATALOGUE.map((d) => (
                <option value={d.type}></option>
              ))}
            </datalist>
          </p>
          <p>
            <label for="f-resource">Resource</label>
            <select id="f-resource" name="resource">
              <option value="">any</option>
              {RESOURCES.map((r) => (
                <option value={r} selected={filter.resource === r}>
                  {r}
                </option>
              ))}
            </select>
          </p>
          <p>
            <label for="f-id">Record id</label>
            <input id="f-id" name="resource_id" value={filter.resource_id ?? ''} />
          </p>
          <p>
            <label for="f-since">Since (UTC)</label>
            <input id="f-since" name="since" type="datetime-local" value={formTime(filter.since)} />
          </p>
          <p>
            <label for="f-until">Until (UTC)</label>
            <input id="f-until" name="until" type="datetime-local" value={formTime(filter.until)} />
          </p>
          <p>
            <button type="submit">Filter</button> <a href={`${BASE}/events`}>Clear</a>
          </p>
        </form>
        {problems.map((m) => (
          <p class="error-text" role="alert">
            {m}
          </p>
        ))}
        {page.data.length === 0 ? (
          <p>No events match.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption class="visually-hidden">Events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Detected</th>
                  <th scope="col">Type</th>
                  <th scope="col">Source</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Record id</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map(({ payload }) => (
                  <tr>
                    <td>{when(payload.timestamp)}</td>
                    <td>
                      <a href={`${BASE}/events/${payload.id}`}>{payload.type}</a>
                    </td>
                    <td>{payload.data.source}</td>
                    <td>{payload.data.resource}</td>
                    <td class="mono">{payload.data.id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager
          path="/events"
          query={{ type: q.type, resource: filter.resource, resource_id: filter.resource_id, since: q.since, until: q.until }}
          next={page.next}
        />
      </>,
    );
  });

  app.get('/events/:id', async (c) => {
    const p = c.get('principal');
    const session = c.get('session');
    const event = await getEvent(deps, p, c.req.param('id'));
    const { payload, thin } = event;
    // Patient values stay hidden until asked for; showing them is an audited read. Thin bodies hold none.
    const show = !thin && c.req.query('show') === 'values';
    if (show) {
      await deps.store.transaction((tx) => recordAudit(tx, c.get('caller'), 'event.values_shown', payload.id));
    }
    const shown = show || thin ? payload : maskEvent(payload);
    const subs = new Map((await deps.store.listSubscriptions()).map((s) => [s.id, s]));
    const canReplay = holds(p, 'events:write');
    const targets =
      canReplay && holds(p, 'subscriptions:read') ? (await visibleSubscriptions(deps, p)).filter((s) => s.status === 'active') : [];
    return render(
      c,
      payload.type,
      '/events',
      <>
        <dl class="facts">
          <dt>Event id</dt>
          <dd class="mono">{payload.id}</dd>
          <dt>Detected</dt>
          <dd>{when(payload.timestamp)}</dd>
          <dt>Record</dt>
          <dd>
            {payload.data.source} {payload.data.resource} <span class="mono">{payload.data.id}</span> ·{' '}
            <a
              href={`${BASE}/events?resource_id=${encodeURIComponent(payload.data.id)}&resource=${encodeURIComponent(payload.data.resource)}`}
            >
              every event of this record
            </a>
          </dd>
        </dl>
        <section aria-labelledby="payload">
          <h2 id="payload">Payload</h2>
          {thin ? (
            <p class="help">Thin payload: ids, changed field names and a link only; no record values.</p>
          ) : show ? (
            <p>
              Record values shown (this was recorded in the audit log). <a href={`${BASE}/events/${payload.id}`}>Hide them</a>
            </p>
          ) : (
            <p>
              Record values are hidden. <a href={`${BASE}/events/${payload.id}?show=values`}>Show patient values</a>
            </p>
          )}
          <pre class="json" tabindex={0} aria-label="Event body">
            {JSON.stringify(shown, null, 2)}
          </pre>
        </section>
        {canReplay ? (
          <section aria-labelledby="replay">
            <h2 id="replay">Replay</h2>
            <p class="help">
              A replay is a new delivery with the same event id and body; receivers deduplicate on <code>webhook-id</code>.
            </p>
            <ActionButton session={session} action={`/events/${payload.id}/replay`} label="Replay to every matching subscription" />
            {targets.length > 0 ? (
              <form method="post" action={`${BASE}/events/${payload.id}/replay`} class="inline-form">
                <Csrf session={session} />
                <label for="replay-sub">Replay to one subscription</label>{' '}
                <select id="replay-sub" name="subscription_id">
                  {targets.map((s) => (
                    <option value={s.id}>{s.description || s.url}</option>
                  ))}
                </select>{' '}
                <label class="check">
                  <input type="checkbox" name="force" /> even if it is not subscribed to {payload.type}
                </label>{' '}
                <button type="submit">Replay</button>
              </form>
            ) : null}
          </section>
        ) : null}
        <section aria-labelledby="deliveries">
          <h2 id="deliveries">Deliveries</h2>
          {event.deliveries.length === 0 ? <p>No deliveries{p.ownSubscriptionsOnly ? ' to your subscriptions' : ''}.</p> : null}
          {event.deliveries.map((d) => (
            <article class="card delivery" aria-labelledby={`d-${d.id}`}>
              <h3 id={`d-${d.id}`}>
                <SubscriptionLink sub={subs.get(d.subscription_id)} id={d.subscription_id} /> <DeliveryStatus status={d.status} />{' '}
                {d.trigger === 'replay' ? <Badge tone="muted">replay</Badge> : null}
              </h3>
              <p class="muted">
                <span class="mono">{d.id}</span> · created {when(d.created_at)} · {d.attempt_count} attempts
                {d.next_attempt_at && d.status === 'pending' ? ` · next ${when(d.next_attempt_at)}` : ''}
              </p>
              {d.status === 'failed' && holds(p, 'deliveries:write') ? (
                <ActionButton
                  session={session}
                  action={`/deliveries/${d.id}/retry`}
                  label="Retry now"
                  hidden={{ back: `/events/${payload.id}` }}
                />
              ) : null}
              {d.attempts.length > 0 ? (
                <table>
                  <caption class="visually-hidden">Attempts of delivery {d.id}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Status</th>
                      <th scope="col">Duration</th>
                      <th scope="col">Error</th>
                      <th scope="col">Response</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.attempts.map((a) => (
                      <tr class="attempt">
                        <td>{when(a.attempted_at)}</td>
                        <td>{a.status_code ?? '—'}</td>
                        <td>{duration(a.duration_ms)}</td>
                        <td>{a.error ?? '—'}</td>
                        <td>
                          {a.response_excerpt ? (
                            <details>
                              <summary>{cut(a.response_excerpt.replace(/\s+/g, ' '), 40)}</summary>
                              <pre class="excerpt">{a.response_excerpt}</pre>
                            </details>
                          ) : (
                            '—'
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
            </article>
          ))}
        </section>
      </>,
    );
  });

  app.post('/events/:id/replay', async (c) => {
    const id = c.req.param('id');
    const subscription_id = field(c, 'subscription_id') || undefined;
    const created = await replayEvent(deps, c.get('caller'), id, { subscription_id, force: field(c, 'force') === 'on' });
    return redirect(c, `/events/${id}`, {
      kind: 'notice',
      message:
        created.length === 0
          ? 'No active subscription matches this event: nothing was queued.'
          : `Replay queued: ${created.length} new deliver${created.length === 1 ? 'y' : 'ies'}.`,
    });
  });
}

import type { Hono } from 'hono';
import { hourlyActivity } from '../../services/deliveries.js';
import { holds } from '../../services/principal.js';
import { sourcesStatus } from '../../services/sources.js';
import { subscriptionHealth, visibleSubscriptions } from '../../services/subscriptions.js';
import { BarChart, RateChart } from '../charts.js';
import { Badge, SubscriptionLink } from '../components.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { ago, cut, duration, when } from '../format.js';
import { render } from '../render.js';

/** `GET /console/`: what needs attention, the sources and their budget, and the last 24 hours. */
export function overviewPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/', async (c) => {
    const p = c.get('principal');
    const attention = [];
    if (holds(p, 'subscriptions:read')) {
      for (const sub of await visibleSubscriptions(deps, p)) {
        const health = await subscriptionHealth(deps, sub);
        if (health.state !== 'healthy') attention.push({ sub, health });
      }
    }
    const sources = holds(p, 'sources:read') ? sourcesStatus(deps.poller, p) : null;
    const activity = holds(p, 'events:read') ? await hourlyActivity(deps, p) : null;
    return render(
      c,
      'Overview',
      '/',
      <>
        {holds(p, 'subscriptions:read') ? (
          <section aria-labelledby="attention">
            <h2 id="attention">Needs attention</h2>
            {attention.length === 0 ? (
              <p>Every subscription is active and delivering.</p>
            ) : (
              <ul class="attention">
                {attention.map(({ sub, health }) => (
                  <li>
                    {health.state === 'failing' ? <Badge tone="bad">failing</Badge> : <Badge tone="muted">disabled</Badge>}{' '}
                    <SubscriptionLink sub={sub} id={sub.id} />{' '}
                    {health.state === 'failing'
                      ? `— every attempt failed since ${when(sub.failing_since)}; ${health.failed} failed in 24 h`
                      : `— ${sub.disabled_reason === 'failing' ? 'disabled after failing too long' : sub.disabled_reason === 'gone' ? 'disabled: the receiver answered 410 Gone' : 'disabled by hand'} ${ago(sub.disabled_at)}`}
                  </li>
                ))}
              </ul>
            )}
          </section>
        ) : null}
        {activity ? (
          <section aria-labelledby="activity">
            <h2 id="activity">Last 24 hours</h2>
            <div class="charts">
              <figure>
                <figcaption>Events detected per hour</figcaption>
                <BarChart values={activity.events} hours={activity.hours} label="Events detected per hour" />
              </figure>
              <figure>
                <figcaption>Delivery attempts that succeeded, per hour</figcaption>
                <RateChart
                  succeeded={activity.succeeded}
                  attempts={activity.attempts}
                  hours={activity.hours}
                  label="Delivery success rate"
                />
              </figure>
            </div>
          </section>
        ) : null}
        {sources ? (
          <section aria-labelledby="sources">
            <h2 id="sources">Sources</h2>
            <div class="scroll">
              <table>
                <caption class="visually-hidden">Every polled resource</caption>
                <thead>
                  <tr>
                    <th scope="col">Source</th>
                    <th scope="col">Resource</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last poll</th>
                    <th scope="col">Interval (achieved / planned)</th>
                    <th scope="col">First pass</th>
                    <th scope="col">Cursor</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {sources.resources.map((r) => (
                    <tr>
                      <td>{r.source}</td>
                      <td>{r.resource}</td>
                      <td>
                        <Badge tone={r.status === 'ok' ? 'ok' : r.status === 'pending' ? 'muted' : 'bad'}>{r.status}</Badge>
                        {r.backoff_until ? <span class="muted"> until {when(r.backoff_until)}</span> : null}
                      </td>
                      <td>{ago(r.state?.last_poll_at)}</td>
                      <td>
                        {duration(r.interval_ms)} / {duration(r.target_interval_ms)}
                      </td>
                      <td>
                        {r.progress
                          ? `${r.progress.phase} ${r.progress.status}: ${r.progress.records_done} records${r.progress.total_entries !== null ? ` of ${r.progress.total_entries}` : ''}`
                          : '—'}
                      </td>
                      <td class="mono">
                        {r.state?.cursor === null || r.state?.cursor === undefined ? '—' : cut(JSON.stringify(r.state.cursor), 40)}
                      </td>
                      <td>{r.state?.last_error ? `${cut(r.state.last_error.message, 120)} (${ago(r.state.last_error.at)})` : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h3>Request budget</h3>
            <ul>
              {sources.budgets.map((b) => (
                <li>
                  <strong>{b.source}</strong>: {b.used_last_minute} requests in the last minute; the bridge allows itself {b.budget_per_min}
                  /min of the key's {b.limit_per_min}/min.
                  <meter
                    min={0}
                    max={b.budget_per_min}
                    value={b.used_last_minute}
                    aria-label={`${b.source} requests used in the last minute`}
                  ></meter>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        {!sources && !activity && !holds(p, 'subscriptions:read') ? (
          <p>
            This key has no read scopes the console can show. <a href={`${BASE}/sign-in`}>Sign in with another token</a>.
          </p>
        ) : null}
      </>,
    );
  });
}

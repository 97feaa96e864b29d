import type { Child } from 'hono/jsx';
import type { Delivery, Subscription } from '../store/schema.js';
import type { SubscriptionHealth } from '../services/subscriptions.js';
import { BASE } from './context.js';
import { Csrf } from './layout.js';
import type { Session } from './session.js';

/** A status word with a colour and, for colour-blind readers, the word itself. */
export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted'; children: Child }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function DeliveryStatus({ status }: { status: Delivery['status'] }) {
  return <Badge tone={status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : 'warn'}>{status}</Badge>;
}

export function HealthBadge({ sub, health }: { sub: Subscription; health: SubscriptionHealth }) {
  if (health.state === 'disabled') return <Badge tone="muted">{`disabled (${sub.disabled_reason ?? 'manual'})`}</Badge>;
  if (health.state === 'failing') return <Badge tone="bad">failing</Badge>;
  return <Badge tone="ok">healthy</Badge>;
}

/** A one-button form posting to a console path (with the CSRF token). */
export function ActionButton({
  session,
  action,
  label,
  tone,
  hidden,
}: {
  session: Session;
  action: string;
  label: string;
  tone?: 'danger';
  hidden?: Record<string, string>;
}) {
  return (
    <form method="post" action={`${BASE}${action}`} class="inline">
      <Csrf session={session} />
      {Object.entries(hidden ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={tone === 'danger' ? 'danger' : undefined}>
        {label}
      </button>
    </form>
  );
}

/** "Older" link to the next page of a newest-first list, keeping the other query parameters. */
export function Pager({ path, query, next }: { path: string; query: Record<string, string | undefined>; next: string | null }) {
  if (!next) return <p class="muted">End of the list.</p>;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  params.set('before', next);
  return (
    <p>
      <a href={`${BASE}${path}?${params.toString()}`} rel="next">
        Older →
      </a>
    </p>
  );
}

/** A subscription named by its description or URL, linking to its page. */
export function SubscriptionLink({ sub, id }: { sub: Subscription | undefined; id: string }) {
  if (!sub) return <span class="mono">{id} (deleted)</span>;
  return <a href={`${BASE}/subscriptions/${sub.id}`}>{sub.description || sub.url}</a>;
}

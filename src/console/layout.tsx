import type { Child } from 'hono/jsx';
import { holds, type Principal } from '../services/principal.js';
import { BASE } from './context.js';
import type { Flash, Session } from './session.js';

/** The console's pages, in nav order, with the scope a principal needs to see each. */
const NAV = [
  { path: '/', label: 'Overview', can: () => true },
  { path: '/subscriptions', label: 'Subscriptions', can: (p: Principal) => holds(p, 'subscriptions:read') },
  { path: '/events', label: 'Events', can: (p: Principal) => holds(p, 'events:read') },
  { path: '/failed', label: 'Failed deliveries', can: (p: Principal) => holds(p, 'subscriptions:read') },
  { path: '/live', label: 'Live', can: (p: Principal) => holds(p, 'events:read') },
  { path: '/audit', label: 'Audit log', can: (p: Principal) => holds(p, 'audit:read') },
] as const;

/** The version query busts browser caches of the console's own files when they change. */
export const ASSET_VERSION = '1';

interface PageProps {
  title: string;
  /** The nav entry to mark as current, e.g. `/events`. */
  section?: string;
  /** Signed in: the nav and sign-out form are shown. */
  session?: Session;
  principal?: Principal;
  flash?: Flash | null;
  children?: Child;
}

/** A one-time notice, error or secret (with a copy button). */
export function FlashBox({ flash }: { flash: Flash | null | undefined }) {
  if (!flash) return null;
  return (
    <div class={`flash flash-${flash.kind}`} role={flash.kind === 'error' ? 'alert' : 'status'}>
      <p>{flash.message}</p>
      {flash.secret ? <SecretField secret={flash.secret} /> : null}
    </div>
  );
}

/** A secret in a read-only field with a copy button (the button needs JavaScript; the field can be selected by hand). */
export function SecretField({ secret }: { secret: string }) {
  return (
    <div class="secret">
      <label for="secret-value">Signing secret (shown once: store it in your receiver now)</label>
      <div class="secret-row">
        <input id="secret-value" class="mono" type="text" readonly value={secret} size={48} />
        <button type="button" class="copy" data-copy="secret-value" hidden>
          Copy
        </button>
        <span class="copy-status" aria-live="polite"></span>
      </div>
    </div>
  );
}

/** The hidden CSRF field every console form carries. */
export function Csrf({ session }: { session: Session }) {
  return <input type="hidden" name="_csrf" value={session.csrf} />;
}

/** The whole page: skip link, header with nav and sign-out, the content. */
export function Page({ title, section, session, principal, flash, children }: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · clinic-event-bridge console`}</title>
        <link rel="stylesheet" href={`${BASE}/assets/console.css?v=${ASSET_VERSION}`} />
        <script defer src={`${BASE}/assets/console.js?v=${ASSET_VERSION}`}></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">
            <a href={BASE}>clinic-event-bridge</a> <span>console</span>
          </p>
          {session && principal ? (
            <>
              <nav aria-label="Console">
                <ul>
                  {NAV.filter((n) => n.can(principal)).map((n) => (
                    <li>
                      <a href={n.path === '/' ? BASE : `${BASE}${n.path}`} aria-current={section === n.path ? 'page' : undefined}>
                        {n.label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
              <form method="post" action={`${BASE}/sign-out`} class="signout">
                <Csrf session={session} />
                <span class="who">
                  Signed in as <strong>{principal.actor}</strong>
                </span>{' '}
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          <FlashBox flash={flash} />
          {children}
        </main>
      </body>
    </html>
  );
}

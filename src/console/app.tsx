import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { rateLimiter } from 'hono-rate-limiter';
import { ApiError } from '../http/errors.js';
import type { AdminDeps } from '../http/context.js';
import { ADMIN, Credentials } from '../services/principal.js';
import { BASE, type ConsoleDeps, type ConsoleEnv } from './context.js';
import { CONSOLE_JS } from './assets/script.js';
import { CONSOLE_CSS } from './assets/styles.js';
import { Page } from './layout.js';
import { auditPages } from './pages/audit.js';
import { eventPages } from './pages/events.js';
import { failedPages } from './pages/failed.js';
import { livePages } from './pages/live.js';
import { overviewPage } from './pages/overview.js';
import { subscriptionPages } from './pages/subscriptions.js';
import { render } from './render.js';
import { csrfMatches, SessionStore, type Session } from './session.js';

/** The session cookie: an opaque id, scoped to the console's path. */
export const SESSION_COOKIE = 'ceb_console';
/** Sign-in attempts per minute per client address. */
const SIGN_IN_PER_MIN = 10;
/** Console forms are small; the largest is a subscription with its headers. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Only this origin: scripts and styles from the console's own files (no inline script or style, no
 * eval), forms posting back here, no framing. `connect-src 'self'` lets the Live page's EventSource in.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's own files: small, served from memory, cached for an hour (the layout adds a version query). */
const ASSETS: Record<string, { type: string; body: string }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
  'console.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
};

/** Only a path inside the console (not `//host`) may be returned to after sign-in. */
function safeNext(next: string | undefined): string {
  return next && (next === BASE || next.startsWith(`${BASE}/`)) && !next.includes('\\') ? next : BASE;
}

/** The client's address; in-process requests (`app.request()`) have none. */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:';
}

/**
 * The web console at `/console`: server-rendered pages (hono/jsx) over the same services as the JSON
 * API. Sign-in takes the admin token or an API key and starts a session whose opaque id is the only
 * thing the cookie holds (HttpOnly, SameSite=Strict, Secure over https, path `/console`); sessions end
 * on sign-out, after 30 minutes idle or 12 hours, and at once when their API key is deleted. Every
 * POST passes hono's `csrf` origin check and carries the session's CSRF token. Every page carries a
 * strict Content-Security-Policy and `Cache-Control: no-store`.
 * @returns a Hono app to mount at `/console`.
 */
export function consoleApp(admin: AdminDeps, opts: { sessions?: SessionStore } = {}): Hono<ConsoleEnv> {
  const deps: ConsoleDeps = {
    ...admin,
    credentials: new Credentials(admin.store, admin.adminToken),
    sessions: opts.sessions ?? new SessionStore(),
  };
  const { sessions, credentials } = deps;
  const app = new Hono<ConsoleEnv>();

  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('content-security-policy', CONSOLE_CSP);
    if (!c.req.path.startsWith(`${BASE}/assets/`)) c.res.headers.set('cache-control', 'no-store');
  });
  for (const [name, { type, body }] of Object.entries(ASSETS)) {
    app.get(`/assets/${name}`, (c) => c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' }));
  }

  // Origin / Sec-Fetch-Site check on every form post, sign-in included; bounded bodies.
  app.use(
    '*',
    csrf(),
    bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(`Forms are limited to ${MAX_FORM_BYTES} bytes.`, 413) }),
  );

  const signInPage = (c: Context<ConsoleEnv>, error?: string, status: 200 | 401 | 429 = 200) => {
    const next = c.req.query('next');
    const html = (
      <Page title="Sign in">
        <p>
          Sign in with the bridge's admin token (<code>BRIDGE_ADMIN_TOKEN</code>) or an API key (<code>ceb_…</code>). A key sees only what
          its scopes allow.
        </p>
        {error ? (
          <div class="flash flash-error" role="alert">
            <p>{error}</p>
          </div>
        ) : null}
        <form method="post" action={`${BASE}/sign-in${next ? `?next=${encodeURIComponent(next)}` : ''}`} class="card narrow">
          <label for="token">Admin token or API key</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            autofocus
            aria-invalid={error ? 'true' : undefined}
          />
          <button type="submit">Sign in</button>
        </form>
      </Page>
    );
    return c.html(`<!doctype html>\n${String(html)}`, status);
  };

  app.get('/sign-in', (c) => signInPage(c));
  app.post(
    '/sign-in',
    rateLimiter<ConsoleEnv>({
      windowMs: 60_000,
      limit: SIGN_IN_PER_MIN,
      keyGenerator: (c) => clientAddress(c),
      handler: (c) => signInPage(c, `Too many sign-in attempts; wait a minute and try again.`, 429),
    }),
    async (c) => {
      const body = await c.req.parseBody();
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const principal = token ? await credentials.resolve(token) : null;
      if (!principal) return signInPage(c, 'That token is not the admin token or a current API key.', 401);
      const session = sessions.create(principal === ADMIN ? null : principal.keyId);
      setCookie(c, SESSION_COOKIE, session.id, { path: BASE, httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
      return c.redirect(safeNext(c.req.query('next')), 303);
    },
  );

  // Everything below needs a live session.
  app.use('*', async (c, next) => {
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    const principal = session ? (session.keyId === null ? ADMIN : await credentials.ofKey(session.keyId)) : null;
    if (!session || !principal) {
      if (session) sessions.delete(session.id);
      deleteCookie(c, SESSION_COOKIE, { path: BASE });
      if (c.req.method !== 'GET') return c.text('Your session has ended; sign in again.', 401);
      const here = new URL(c.req.url);
      return c.redirect(`${BASE}/sign-in?next=${encodeURIComponent(here.pathname + here.search)}`, 303);
    }
    c.set('session', session);
    c.set('principal', principal);
    c.set('caller', { principal, requestId: (c.get('requestId' as never) as string | undefined) ?? null });
    if (c.req.method === 'POST') {
      const body = await c.req.parseBody({ all: true });
      if (!csrfMatches(session, body._csrf))
        throw new HTTPException(403, { message: 'The form was stale or not from this console; reload the page and try again.' });
      c.set('form' as never, body as never);
    }
    await next();
  });

  app.post('/sign-out', (c) => {
    sessions.delete(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: BASE, secure: isHttps(c) });
    return c.redirect(`${BASE}/sign-in`, 303);
  });

  overviewPage(app, deps);
  subscriptionPages(app, deps);
  eventPages(app, deps);
  failedPages(app, deps);
  livePages(app, deps);
  auditPages(app, deps);

  app.all('*', (c) => {
    // The sub-app's '/' is `/console` only.
    if (c.req.path === `${BASE}/`) return c.redirect(BASE, 301);
    return render(c, 'Not found', undefined, <p>There is no console page at {c.req.path}.</p>, 404);
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      const status = ([400, 403, 404, 409, 422] as const).find((s) => s === err.status) ?? 400;
      if (!c.get('session')) return c.text(err.message, status);
      return render(
        c,
        status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'That did not work',
        undefined,
        <p class="error-text">{err.message}</p>,
        status,
      );
    }
    if (err instanceof HTTPException) {
      if (!c.get('session')) return err.getResponse();
      return render(c, 'Not allowed', undefined, <p class="error-text">{err.message || 'Forbidden'}</p>, 403);
    }
    deps.logger.error({ err, path: c.req.path }, 'console error');
    return c.text('Internal error', 500);
  });
  return app;
}

export type { Session };

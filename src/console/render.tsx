import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ConsoleEnv } from './context.js';
import { BASE } from './context.js';
import { Page } from './layout.js';
import type { Flash } from './session.js';

type C = Context<ConsoleEnv>;

/**
 * Answers with a full console page for the signed-in user; the session's one-time flash (if any) is
 * shown and dropped.
 */
export function render(
  c: C,
  title: string,
  section: string | undefined,
  body: Child,
  status: 200 | 400 | 403 | 404 | 409 | 422 | 429 = 200,
): Response {
  const session = c.get('session');
  const flash = session?.flash ?? null;
  if (session) session.flash = null;
  const html = (
    <Page title={title} section={section} session={session} principal={c.get('principal')} flash={flash}>
      {body}
    </Page>
  );
  return c.html(`<!doctype html>\n${String(html)}`, status);
}

/** Redirects (303: the browser GETs it) with a one-time message for the next page. */
export function redirect(c: C, path: string, flash?: Flash): Response {
  const session = c.get('session');
  if (session && flash) session.flash = flash;
  return c.redirect(`${BASE}${path}`, 303);
}

/** The submitted form, parsed once by the CSRF check (arrays for repeated names). */
export function form(c: C): Record<string, string | string[]> {
  return (c.get('form' as never) as Record<string, string | string[]> | undefined) ?? {};
}

/** One text value of the form (the first if repeated), trimmed; undefined when absent. */
export function field(c: C, name: string): string | undefined {
  const v = form(c)[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.trim() : undefined;
}

/** Every value of a repeated form field (checkboxes). */
export function fields(c: C, name: string): string[] {
  const v = form(c)[name];
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

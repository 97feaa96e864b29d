import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, checkPage, launchChromium, signIn as signInAs, type WatchedPage } from './helpers/browser.js';
import { SCOPES } from '../src/store/schema.js';
import { Harness, waitFor } from './helpers/harness.js';

// Browser steps share two cores with other test files: generous timeouts, no timing assertions.
// Who reaches what through the console: a key limited to its own subscriptions, sessions, CSRF.

const canRun = browserAvailable('console access in Chromium', 'test/console-access.e2e.test.ts');

const ALL_SCOPES = [...SCOPES];

describe.skipIf(!canRun)('console access in Chromium', { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;
  /** Key A's subscription, an event delivered only to it, and that delivery (failed). */
  let subA = '';
  let eventA = '';
  let deliveryA = '';
  let keyA = '';
  let keyB = { id: '', key: '' };

  beforeAll(async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.poll();
    const a = await h.api('POST', '/v1/api-keys', { name: 'vendor-a', scopes: ALL_SCOPES, subscriptions: 'own' });
    const b = await h.api('POST', '/v1/api-keys', { name: 'vendor-b', scopes: ALL_SCOPES, subscriptions: 'own' });
    keyA = a.json.key;
    keyB = { id: b.json.id, key: b.json.key };
    const created = await h.api(
      'POST',
      '/v1/subscriptions',
      { url: h.receiver.url, event_types: ['contact.*'], description: 'vendor A hook', payload: 'thin' },
      keyA,
    );
    subA = created.json.id;
    h.receiver.secret = created.json.secret;
    // A's only delivery fails for good, so it is on A's Failed page and retryable.
    h.receiver.respondWith.push(500, 500, 500);
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', id, { notes: 'for vendor A' });
    await h.poll();
    const failed = await waitFor(
      async () => (await h.api('GET', `/v1/subscriptions/${subA}/deliveries?status=failed`)).json.data[0],
      10_000,
      'A failed delivery',
    );
    deliveryA = failed.id;
    eventA = failed.event_id;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const url = (path: string) => `${h.bridge.url}/console${path}`;

  /** Signs in through the form; returns the watched page, now on the overview. */
  const signIn = (token: string): Promise<WatchedPage> => signInAs(browser, h.bridge.url, token);

  /** The session's CSRF token, from the sign-out form every page has. */
  const csrfOf = (page: Page) => page.locator('form.signout input[name=_csrf]').inputValue();

  /** POSTs a form as the page's session would (same cookies, same Origin, its CSRF token). */
  async function post(page: Page, path: string, form: Record<string, string> = {}, opts: { csrf?: string | null; origin?: string } = {}) {
    const token = opts.csrf === undefined ? await csrfOf(page) : opts.csrf;
    const res = await page.request.post(url(path), {
      form: { ...(token === null ? {} : { _csrf: token }), ...form },
      headers: { origin: opts.origin ?? h.bridge.url },
      maxRedirects: 0,
    });
    return { status: res.status(), text: await res.text() };
  }

  it("a key limited to its own subscriptions reaches no other key's subscription, event or delivery through any console URL or form", async () => {
    const { page } = await signIn(keyB.key);
    const subBefore = (await h.bridge.store.getSubscription(subA))!;
    const deliveriesBefore = (await h.bridge.store.listDeliveries({})).data.length;

    // Lists: nothing of A's.
    for (const path of ['', '/subscriptions', '/events', '/failed', '/live', '/audit']) {
      const res = await page.goto(url(path));
      expect(res!.status(), path).toBe(200);
      const text = (await page.locator('main').textContent())!;
      expect(text, path).not.toContain('vendor A hook');
      expect(text, path).not.toContain(subA);
      expect(text, path).not.toContain(eventA);
      expect(text, path).not.toContain('vendor-a');
      await checkPage(page, `restricted${path.replace('/', '-') || '-overview'}`);
    }
    // Pages of A's things: as unknown as a missing one.
    for (const path of [`/subscriptions/${subA}`, `/subscriptions/${subA}/delete`, `/events/${eventA}`, `/events/${eventA}?show=values`]) {
      const res = await page.goto(url(path));
      expect(res!.status(), path).toBe(404);
      expect(await page.locator('main').textContent(), path).not.toContain('vendor A hook');
    }
    // Forms aimed at A's things: 404, and nothing changes.
    const forms: Array<[string, Record<string, string>]> = [
      [`/subscriptions/${subA}`, { url: 'https://example.com/hijack', event_types: '*' }],
      [`/subscriptions/${subA}/disable`, {}],
      [`/subscriptions/${subA}/enable`, {}],
      [`/subscriptions/${subA}/rotate`, { grace_period_seconds: '0' }],
      [`/subscriptions/${subA}/test`, {}],
      [`/subscriptions/${subA}/recover`, { since: '2000-01-01T00:00' }],
      [`/subscriptions/${subA}/delete`, {}],
      [`/events/${eventA}/replay`, {}],
      [`/events/${eventA}/replay`, { subscription_id: subA, force: 'on' }],
      [`/deliveries/${deliveryA}/retry`, {}],
    ];
    for (const [path, form] of forms) {
      const res = await post(page, path, form);
      expect(res.status, path).toBe(404);
    }
    // B's own event (a test event to B's own subscription) cannot be replayed to A's subscription.
    const own = await h.api(
      'POST',
      '/v1/subscriptions',
      { url: h.receiver.url, event_types: ['contact.*'], description: 'vendor B hook' },
      keyB.key,
    );
    await page.goto(url(`/subscriptions/${own.json.id}`));
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('bridge.test');
    const ownEvent = page.url().split('/').pop()!;
    expect((await post(page, `/events/${ownEvent}/replay`, { subscription_id: subA, force: 'on' })).status).toBe(404);
    // The Live stream carries none of A's deliveries (A's delivery changes now: a retry through the API).
    const stream = page.evaluate(
      (u) =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          const es = new EventSource(u);
          es.addEventListener('delivery', (e) => seen.push((e as MessageEvent).data));
          setTimeout(() => (es.close(), resolve(seen)), 2_500);
        }),
      url(`/live/stream?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`),
    );
    await h.api('POST', `/v1/deliveries/${deliveryA}/retry`, undefined, keyA);
    const seen = await stream;
    expect(seen.length).toBeGreaterThan(0); // B's own test delivery
    expect(seen.join('\n')).not.toContain(deliveryA);
    expect(seen.join('\n')).not.toContain('vendor A hook');

    // A's subscription is as it was (but for the failing window its own retry moves), secret included.
    const sub = (await h.bridge.store.getSubscription(subA))!;
    expect({ ...sub, failing_since: null, updated_at: null }).toEqual({ ...subBefore, failing_since: null, updated_at: null });
    // Only B's test delivery was created.
    expect((await h.bridge.store.listDeliveries({})).data.length).toBe(deliveriesBefore + 1);
  });

  it('a key whose subscription is thin never sees record values, not even with "show"', async () => {
    const { page } = await signIn(keyA);
    const name = String(h.sim.all('contacts')[0]!.first_name);
    for (const path of [`/events/${eventA}`, `/events/${eventA}?show=values`]) {
      expect((await page.goto(url(path)))!.status()).toBe(200);
      const body = (await page.locator('pre.json').textContent())!;
      expect(body).toContain('changed_fields');
      expect(body).not.toContain(name);
      expect(body).not.toContain('••••');
      expect(await page.getByRole('link', { name: 'Show patient values' }).count()).toBe(0);
    }
    await checkPage(page, 'event-thin');
  });

  it('refuses a form without the CSRF token or from another origin, and ends the session on sign-out', async () => {
    const w = await signIn(h.adminToken);
    const { page } = w;
    expect((await post(page, `/subscriptions/${subA}/disable`, {}, { csrf: null })).status).toBe(403);
    expect((await post(page, `/subscriptions/${subA}/disable`, {}, { csrf: 'forged' })).status).toBe(403);
    expect((await post(page, `/subscriptions/${subA}/disable`, {}, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await h.bridge.store.getSubscription(subA))!.status).toBe('active');
    // The admin token does reach A's subscription.
    expect((await page.goto(url(`/subscriptions/${subA}`)))!.status()).toBe(200);

    const [cookie] = await w.context.cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(url('/sign-in'));
    expect(await w.context.cookies()).toEqual([]);
    // The old session id no longer works, even if someone kept it.
    await w.context.addCookies([cookie!]);
    await page.goto(url('/subscriptions'));
    expect(page.url()).toContain('/console/sign-in?next=%2Fconsole%2Fsubscriptions');
  });

  it('deleting an API key ends its console sessions at once', async () => {
    const { page } = await signIn(keyB.key);
    expect((await page.goto(url('/subscriptions')))!.status()).toBe(200);
    expect((await h.api('DELETE', `/v1/api-keys/${keyB.id}`)).status).toBe(204);
    await page.goto(url('/subscriptions'));
    expect(page.url()).toContain('/console/sign-in');
  });

  it('marks the cookie Secure over https, and never caches pages', async () => {
    const res = await h.bridge.app.request('https://bridge.example/console/sign-in', {
      method: 'POST',
      headers: { origin: 'https://bridge.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${h.adminToken}`,
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ceb_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; Secure; SameSite=Strict$/);
    const page = await h.bridge.app.request('https://bridge.example/console/subscriptions', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('limits sign-in attempts to 10 a minute per client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await fetch(url('/sign-in'), {
        method: 'POST',
        headers: { origin: h.bridge.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=guess',
      });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(await res.text()).toContain('Too many sign-in attempts');
        break;
      }
    }
    // Earlier tests signed in too: the 429 comes at the 11th attempt of the minute at the latest.
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, checkPage, launchChromium, openWatched, signIn as signInAs, type WatchedPage } from './helpers/browser.js';
import { Harness, waitFor } from './helpers/harness.js';

// The web console as a person uses it: real Chromium (Debian's, via playwright-core) against a bridge
// polling the Cliniko simulator and delivering to a receiver that verifies every request with
// `standardwebhooks`. Every page visited is checked with axe-core and screenshotted to test/artifacts/.

const canRun = browserAvailable('console in Chromium', 'test/console.e2e.test.ts');

describe.skipIf(!canRun)('console in Chromium', { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let admin: WatchedPage;
  let subId = '';
  let eventId = '';

  beforeAll(async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    // The baseline poll: later polls find changes.
    await h.poll();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const url = (path: string) => `${h.bridge.url}/console${path}`;

  /** Signs in through the form; returns the watched page, now on the overview. */
  const signIn = (token: string): Promise<WatchedPage> => signInAs(browser, h.bridge.url, token);

  /** Changes one contact in the simulator and polls, so the bridge detects one `contact.updated`. */
  async function changeContact(): Promise<string> {
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', id, { notes: `changed ${Date.now()}` });
    await h.poll();
    return id;
  }

  async function heading(page: Page): Promise<string> {
    return (await page.locator('h1').textContent()) ?? '';
  }

  it('refuses a wrong token, signs in with the admin token, and the cookie holds an opaque id', async () => {
    const w = await openWatched(browser, h.bridge.url);
    const res = await w.page.goto(url('/sign-in'));
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    await checkPage(w.page, 'sign-in');
    await w.page.getByLabel('Admin token or API key').fill('not-the-token');
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => w.page.getByRole('alert').textContent()).toContain('not the admin token');
    expect(await w.context.cookies()).toEqual([]);
    await w.context.close();

    admin = await signIn(h.adminToken);
    expect(await heading(admin.page)).toBe('Overview');
    const [cookie] = await admin.context.cookies();
    expect(cookie).toMatchObject({ name: 'ceb_console', httpOnly: true, sameSite: 'Strict', path: '/console', secure: false });
    expect(cookie!.value).not.toContain(h.adminToken);
    expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await checkPage(admin.page, 'overview');
  });

  it('creates a subscription from the catalogue, shows its secret once and copies it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByRole('link', { name: 'New subscription' }).click();
    await checkPage(page, 'subscription-new');
    await page.getByLabel('Receiver URL').fill(h.receiver.url);
    await page.getByLabel('Description').fill('Front desk board');
    await page.getByLabel('Every event (*)').uncheck();
    await page.locator('summary', { hasText: /^contact / }).click();
    await page.getByLabel('contact.updated', { exact: true }).check();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await expect.poll(() => heading(page)).toBe('Front desk board');
    subId = page.url().split('/').pop()!;
    expect(subId).toMatch(/^sub_/);
    await checkPage(page, 'subscription-created');
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.locator('.copy-status').textContent()).toBe('Copied.');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(/^whsec_/);
    h.receiver.secret = copied;
    // Shown once: the next visit does not show it.
    await page.reload();
    expect(await page.locator('#secret-value').count()).toBe(0);
    const sub = (await h.api('GET', `/v1/subscriptions/${subId}`)).json;
    expect(sub).toMatchObject({ url: h.receiver.url, event_types: ['contact.updated'], description: 'Front desk board' });
  });

  it('shows a delivery arrive on the Live page without reloading, then its attempts', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    await expect.poll(() => page.locator('#live-state').textContent()).toContain('Live:');
    const before = h.receiver.received.length;
    await changeContact();
    await waitFor(() => h.receiver.received.length > before && h.receiver.received.at(-1)!.verified, 10_000, 'a verified delivery');
    eventId = h.receiver.received.at(-1)!.id;
    const row = page.locator('#live tbody tr', { hasText: 'contact.updated' }).filter({ hasText: 'succeeded' });
    await row.first().waitFor();
    await checkPage(page, 'live');
    await row.first().getByRole('link', { name: 'contact.updated' }).click();
    await expect.poll(() => heading(page)).toBe('contact.updated');
    expect(page.url()).toContain(eventId);
    const attempt = page.locator('tr.attempt').first();
    expect(await attempt.locator('td').nth(1).textContent()).toBe('204');
    await checkPage(page, 'event');
  });

  it('replays the event to the subscription; the receiver verifies the same webhook-id', async () => {
    const { page } = admin;
    const before = h.receiver.received.length;
    await page.getByLabel('Replay to one subscription').selectOption(subId);
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Replay queued: 1 new delivery');
    const replayed = await waitFor(() => (h.receiver.received.length > before ? h.receiver.received.at(-1) : undefined));
    expect(replayed.id).toBe(eventId);
    expect(replayed.verified).toBe(true);
  });

  it('refuses a replay to a subscription not subscribed to the event type unless forced', async () => {
    const { page } = admin;
    const other = await h.api('POST', '/v1/subscriptions', {
      url: h.receiver.url,
      event_types: ['patient.*'],
      description: 'Patients only',
    });
    await page.goto(url(`/events/${eventId}`));
    await page.getByLabel('Replay to one subscription').selectOption(other.json.id);
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain(`is not subscribed to contact.updated`);
    expect(await page.locator('h1').textContent()).toBe('That did not work');
    await checkPage(page, 'replay-refused');
    expect((await h.bridge.store.listDeliveries({ subscription_id: other.json.id })).data).toEqual([]);
    await page.goto(url(`/events/${eventId}`));
    await page.getByLabel('Replay to one subscription').selectOption(other.json.id);
    await page.getByLabel('even if it is not subscribed to contact.updated').check();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Replay queued: 1 new delivery');
    expect((await h.bridge.store.listDeliveries({ subscription_id: other.json.id })).data).toHaveLength(1);
    expect((await h.api('DELETE', `/v1/subscriptions/${other.json.id}`)).status).toBe(204);
  });

  it('masks patient values until "Show patient values", and records that in the audit log', async () => {
    const { page } = admin;
    await page.goto(url(`/events/${eventId}`));
    const contact = h.sim.all('contacts')[0]!;
    const name = String(contact.first_name);
    expect(name.length).toBeGreaterThan(1);
    const body = () => page.locator('pre.json').textContent();
    expect(await body()).toContain('••••••');
    expect(await body()).not.toContain(`"${name}"`);
    await page.getByRole('link', { name: 'Show patient values' }).click();
    await expect.poll(body).toContain(`"${name}"`);
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await expect.poll(() => page.locator('tbody tr').first().textContent()).toContain('event.values_shown');
    await checkPage(page, 'audit');
  });

  it('disables and re-enables the subscription', async () => {
    const { page } = admin;
    await page.goto(url(`/subscriptions/${subId}`));
    await page.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Disabled');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).json).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
    await page.goto(url(''));
    expect(await page.locator('ul.attention').textContent()).toContain('disabled by hand');
    await page.goto(url(`/subscriptions/${subId}`));
    await page.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Enabled');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).json).toMatchObject({ status: 'active', disabled_reason: null });
    await checkPage(page, 'subscription');
  });

  it('rotates the secret; the next delivery verifies with the new one', async () => {
    const { page } = admin;
    const old = h.receiver.secret;
    await page.getByLabel('Old secret keeps signing for').selectOption('0');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Secret rotated; the old one no longer signs');
    const secret = await page.locator('#secret-value').inputValue();
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(old);
    h.receiver.secret = secret;
    const before = h.receiver.received.length;
    await changeContact();
    const got = await waitFor(() => (h.receiver.received.length > before ? h.receiver.received.at(-1) : undefined));
    expect(got.verified).toBe(true);
    // Only the new secret signed it: the old one does not verify.
    expect(got.headers['webhook-signature']!.split(' ')).toHaveLength(1);
  });

  it('lists a failed delivery and recovers its window: one more attempt reaches the receiver', async () => {
    const { page } = admin;
    // Three attempts (first + two retries of BRIDGE_RETRY_SCHEDULE), all refused: the delivery fails.
    h.receiver.respondWith.push(500, 500, 500);
    const before = h.receiver.received.length;
    await changeContact();
    await waitFor(() => h.receiver.received.length >= before + 3, 10_000, 'three failed attempts');
    const failedId = h.receiver.received.at(-1)!.id;
    await waitFor(
      async () => (await h.api('GET', `/v1/subscriptions/${subId}/deliveries?status=failed`)).json.data.length === 1,
      10_000,
      'a failed delivery',
    );
    await page.getByRole('link', { name: 'Failed deliveries' }).click();
    await expect.poll(() => page.locator('section.card h2').first().textContent()).toContain('1 failed');
    await checkPage(page, 'failed');
    await page.getByRole('button', { name: 'Recover' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('1 failed deliveries queued');
    const got = await waitFor(() => (h.receiver.received.length > before + 3 ? h.receiver.received.at(-1) : undefined));
    expect(got).toMatchObject({ id: failedId, verified: true });
    await waitFor(
      async () => (await h.api('GET', `/v1/subscriptions/${subId}/deliveries?status=failed`)).json.data.length === 0,
      10_000,
      'no failed delivery left',
    );
  });

  it('filters and pages the event list', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByLabel('Type').fill('contact.*');
    await page.getByLabel('Record id').fill(h.sim.all('contacts')[0]!.id);
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    for (const text of await rows.allTextContents()) expect(text).toContain('contact.updated');
    await checkPage(page, 'events');
    await page.getByLabel('Record id').fill('no-such-record');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('No events match.');
  });

  it('edits payload mode, headers and limits; a bad URL is refused with the reason', async () => {
    const { page } = admin;
    await page.goto(url(`/subscriptions/${subId}`));
    await page.getByLabel('Receiver URL').fill('not a url');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('#form-errors').textContent()).toContain('url: must be an absolute http(s) URL');
    await checkPage(page, 'subscription-form-error');
    await page.getByLabel('Receiver URL').fill(h.receiver.url);
    await page.getByLabel('Thin: ids, changed field names and a link only (no patient data)').check();
    await page.getByLabel('One per line, as Name: value').fill('X-Clinic: north');
    await page.getByLabel('Per record: events of one record arrive in order').check();
    await page.getByLabel('Attempts per second (empty: no limit)').fill('5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Changes saved');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).json).toMatchObject({
      url: h.receiver.url,
      payload: 'thin',
      headers: { 'X-Clinic': '[hidden]' },
      ordering: 'per_record',
      rate_limit_per_second: 5,
      event_types: ['contact.updated'],
    });
    const before = h.receiver.received.length;
    await changeContact();
    const got = await waitFor(() => (h.receiver.received.length > before ? h.receiver.received.at(-1) : undefined));
    expect(got.verified).toBe(true);
    expect(got.headers['x-clinic']).toBe('north');
    // Thin: the body as sent carries no record at all.
    expect(JSON.parse(got.body).data.object).toBeUndefined();
    expect(JSON.parse(got.body).data.changed_fields).toEqual(expect.any(Array));
  });

  it('sends a test event to the subscription only', async () => {
    const { page } = admin;
    await page.goto(url(`/subscriptions/${subId}`));
    const before = h.receiver.received.length;
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('bridge.test');
    const got = await waitFor(() => (h.receiver.received.length > before ? h.receiver.received.at(-1) : undefined));
    expect(got).toMatchObject({ verified: true, payload: { type: 'bridge.test' } });
  });

  it('deletes the subscription after a confirmation page', async () => {
    const { page } = admin;
    await page.goto(url(`/subscriptions/${subId}`));
    await page.getByRole('link', { name: 'Delete…' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Delete subscription?');
    await checkPage(page, 'subscription-delete');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete subscription' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Subscription deleted');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).status).toBe(404);
    await page.goto(url(''));
    await checkPage(page, 'overview-after');
  });

  it('logged no script error and no CSP violation on any page', () => {
    // Chromium logs every 4xx page load; the refused form and replay above are the only ones, and they are the point.
    const expected = (e: string) =>
      (e.includes('status of 400') && e.includes(`/console/subscriptions/${subId}`)) ||
      (e.includes('status of 409') && e.includes('/replay'));
    expect(admin.errors.filter((e) => !expected(e))).toEqual([]);
  });
});

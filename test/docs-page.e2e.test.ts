import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchChromium } from './helpers/browser.js';
import { Harness } from './helpers/harness.js';

// GET /docs in a real browser: what a person sees, with the page's own CSP in force (no bypassCSP).
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const canRun = browserAvailable('GET /docs in Chromium', 'test/docs-page.e2e.test.ts');

describe.skipIf(!canRun)('GET /docs in Chromium', () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await Harness.create();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** A fresh page (own storage) that records every request URL, console error and page error. */
  async function open(): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await (await browser.newContext()).newPage();
    // A missing element fails in seconds with its selector, well inside the test timeout.
    page.setDefaultTimeout(5_000);
    // Swagger UI's bundle is large: on two busy shared cores its load can take longer than a missing element should.
    page.setDefaultNavigationTimeout(30_000);
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    // CSP violations show up here too, as "Refused to …" console errors.
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // Belt and braces for violations that log nothing (e.g. report-only); runs before the page's scripts.
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const res = await page.goto(`${h.bridge.url}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    expect(res?.headers()['content-security-policy']).not.toContain('unsafe');
    await expect.poll(() => page.locator('.swagger-ui .info .title').textContent()).toContain('clinic-event-bridge admin API');
    return { page, requests, errors };
  }

  /** Every request went to the bridge itself (data: URLs are not requests to anyone). */
  async function expectOnlyOwnOrigin(page: Page, requests: string[]): Promise<void> {
    const origin = new URL(h.bridge.url).origin;
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin)).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  }

  /**
   * Expands GET /v1/event-types, presses "Try it out" then "Execute", and returns the "Server response"
   * row Swagger UI draws: its Code cell and its Details cell (the body as shown).
   */
  async function execute(page: Page): Promise<{ code: string; details: string }> {
    const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/v1/event-types"]') });
    await op.locator('.opblock-summary-control').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    await op.getByRole('button', { name: 'Execute' }).click();
    const row = op.locator('.live-responses-table .response');
    await row.waitFor();
    const text = async (cell: string) => (await row.locator(cell).textContent())?.trim() ?? '';
    return { code: await text('.response-col_status'), details: await text('.response-col_description') };
  }

  it('renders the title and one operation block per operation of /openapi.json, with only same-origin requests', async () => {
    const doc = (await (await fetch(`${h.bridge.url}/openapi.json`)).json()) as Record<
      'paths' | 'webhooks',
      Record<string, Record<string, unknown>> | undefined
    >;
    // Swagger UI draws webhooks (OpenAPI 3.1) as operation blocks too; an operation with two tags would
    // be drawn twice and fail this, which is worth knowing.
    const operations = [doc.paths, doc.webhooks]
      .flatMap((items) => Object.values(items ?? {}))
      .flatMap((item) => Object.keys(item).filter((k) => METHODS.includes(k))).length;

    expect(operations).toBeGreaterThan(0);

    const { page, requests, errors } = await open();
    expect(await page.title()).toBe('clinic-event-bridge admin API');
    // Swagger UI has rendered the document (not its "Failed to load API definition" box).
    await expect.poll(() => page.locator('.swagger-ui .opblock').count()).toBe(operations);
    expect(await page.locator('.swagger-ui .errors-wrapper').count()).toBe(0);
    await expectOnlyOwnOrigin(page, requests);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("serves the assets itself with their types; any other /docs path is the app's 404", async () => {
    const html = await (await fetch(`${h.bridge.url}/docs`)).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.every((a) => a.startsWith('/docs/'))).toBe(true);
    const types = await Promise.all(assets.map(async (a) => (await fetch(`${h.bridge.url}${a}`)).headers.get('content-type')));
    expect(types.sort()).toEqual([
      'image/png',
      'text/css; charset=utf-8',
      'text/javascript; charset=utf-8',
      'text/javascript; charset=utf-8',
    ]);
    const missing = await fetch(`${h.bridge.url}/docs/index.html`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('without Authorize, Execute on GET /v1/event-types shows 401', async () => {
    const { page, requests, errors } = await open();
    // "401", or "401 Undocumented" while the document does not list that response.
    const shown = await execute(page);
    expect(shown.code).toMatch(/^401\b/);
    expect(shown.details).toContain('unauthorized');
    await expectOnlyOwnOrigin(page, requests);
    // Chromium logs every 4xx fetch; that one is the point of this test, nothing else may be logged.
    expect(errors.filter((e) => !/status of 401/.test(e) || !e.includes('/v1/event-types'))).toEqual([]);
    await page.context().close();
  });

  it('after Authorize with the admin token, Execute on GET /v1/event-types shows 200 and the event types', async () => {
    const { page, requests, errors } = await open();
    await page.locator('.auth-wrapper').getByRole('button', { name: 'Authorize' }).click();
    const dialog = page.locator('.modal-ux');
    await dialog.getByLabel('auth-bearer-value').fill(h.adminToken);
    await dialog.getByRole('button', { name: 'Apply credentials' }).click(); // the dialog's "Authorize"
    await dialog.getByRole('button', { name: 'Close' }).click();

    const shown = await execute(page);
    expect(shown.code).toMatch(/^200\b/);
    expect(shown.details).toContain('individual_appointment.cancelled');
    // persistAuthorization: false — the token is not left in the browser's storage.
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(h.adminToken);
    // For a person to look at: DOCS_SCREENSHOT=/tmp/docs.png npx vitest run test/docs-page.test.ts
    if (process.env.DOCS_SCREENSHOT) await page.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true });
    await expectOnlyOwnOrigin(page, requests);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

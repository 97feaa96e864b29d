import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
/** `BRIDGE_REQUIRE_BROWSER=1` (CI) turns a missing Chromium into a failure instead of a skip. */
export const requireBrowser = process.env.BRIDGE_REQUIRE_BROWSER === '1';
/** Where every page's screenshot goes, for a reviewer to look at (gitignored). */
export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Call at the top level of a browser test file: without Chromium, registers a failing test when
 * `BRIDGE_REQUIRE_BROWSER=1` (CI) or warns that `file` is skipped. @returns whether Chromium is there,
 * for `describe.skipIf(!…)`.
 */
export function browserAvailable(suite: string, file: string): boolean {
  if (!haveChromium && requireBrowser) {
    describe(suite, () => {
      it('needs Chromium', () => {
        throw new Error(`${CHROMIUM} is missing and BRIDGE_REQUIRE_BROWSER=1: install it (apt-get install chromium)`);
      });
    });
  } else if (!haveChromium) {
    console.warn(`${file} skipped: no ${CHROMIUM} (apt-get install chromium; BRIDGE_REQUIRE_BROWSER=1 makes this a failure)`);
  }
  return haveChromium;
}

/** Headless Chromium; without the background-networking flags it reaches for Google's services. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records console errors, page errors and CSP violations (the page's own CSP stays in force). */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
}

/**
 * Opens a fresh watched page at `${origin}/console`, checks it is sent to the sign-in form, signs in
 * with `token` (admin token or API key) and waits for the overview.
 */
export async function signIn(browser: Browser, origin: string, token: string): Promise<WatchedPage> {
  const w = await openWatched(browser, origin);
  await w.page.goto(`${origin}/console`);
  await expect.poll(() => w.page.url()).toContain('/console/sign-in');
  await w.page.getByLabel('Admin token or API key').fill(token);
  await w.page.getByRole('button', { name: 'Sign in' }).click();
  await w.page.waitForURL(`${origin}/console`);
  return w;
}

/** A fresh context (own cookies) with clipboard access, and one watched page in it. */
export async function openWatched(browser: Browser, origin: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  // A missing element fails in seconds with its selector, well inside the test timeout.
  page.setDefaultTimeout(5_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return { page, context, errors };
}

/** An axe-core finding, trimmed to what a failure message needs. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core inside the page (evaluated through the DevTools protocol, so the page's CSP, which
 * forbids inline scripts, is not loosened) and writes a full-page screenshot to test/artifacts/.
 * Fails on any serious or critical violation, naming the rule and the elements.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            opts: object,
          ) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)),
    }));
  });
  const serious = (violations as Violation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `axe on ${name}`).toEqual([]);
}

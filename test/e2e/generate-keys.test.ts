import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { DEMO_SCOPES } from '../../src/simulator/demo-world.js';
import { launchChromium, screenshotFolder } from '../support/browser.js';
import { testDatabases } from '../support/databases.js';
import { startHarness, type Harness } from '../support/generate-keys-harness.js';

const shots = screenshotFolder('generate-keys');
const SHOTS = shots.dir;

/**
 * Browser e2e: a Canvas admin opens a setup link, checks the configuration, clicks Generate Keys,
 * logs in to the Canvas sandbox and authorizes. Screenshots go to docs/screenshots/generate-keys (see docs/generate-keys.md).
 */
describe('Generate Keys in a real browser (chromium)', () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness(testDatabases()[0]!);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    shots.cleanup();
  });

  async function openSetupLink(id: string): Promise<Page> {
    const link = await h.api('POST', `/api/v1/integrations/${id}/setup-links`, {});
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    await page.goto(link.body.url);
    (page as Page & { cspErrors?: string[] }).cspErrors = errors;
    return page;
  }

  async function logInToCanvas(page: Page) {
    await page.waitForSelector('#login_form');
    await page.fill('#username', 'admin');
    await page.fill('#password', 'password');
    await page.click('#login-submit');
  }

  it('happy path: check configuration, Generate Keys, log in, Authorize → Verified', async () => {
    h.sandbox.control.setKey({ requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES] });
    const id = await h.createIntegration({ name: 'Demo State University' });
    const page = await openSetupLink(id);
    expect(await page.locator('h1').first().textContent()).toContain('Demo State University');
    await page.screenshot({ path: join(SHOTS, '01-lms-settings.png'), fullPage: true });

    await page.click('#preflight');
    expect(await page.locator('#preflight-result').getAttribute('data-ok')).toBe('true');
    await page.screenshot({ path: join(SHOTS, '02-check-configuration.png'), fullPage: true });

    await page.click('#generate-keys');
    await logInToCanvas(page);
    await page.waitForSelector('#consent_form');
    await page.screenshot({ path: join(SHOTS, '03-canvas-consent.png'), fullPage: true });
    await page.click('#authorize');

    await page.waitForURL(/\/oauth\/result/);
    // Post/Redirect/Get: the used code and state are not left in the address bar.
    expect(page.url()).not.toMatch(/[?&](code|state)=/);
    await page.waitForSelector('[data-state="verified"]');
    expect(await page.locator('.check--ok').count()).toBe(6);
    await page.screenshot({ path: join(SHOTS, '04-connected-verified.png'), fullPage: true });

    await page.click('text=Back to LMS settings');
    expect((await page.locator('#status-badge').textContent())?.trim()).toBe('Verified');
    await page.goto(`${h.appUrl}/integrations/${id}/configure`);
    await page.waitForSelector('text=Exam Student');
    await page.screenshot({ path: join(SHOTS, '05-configure.png'), fullPage: true });
    await page.goto(`${h.appUrl}/integrations/${id}/scopes`);
    await page.screenshot({ path: join(SHOTS, '06-scoped-token.png'), fullPage: true });
    expect((page as Page & { cspErrors?: string[] }).cspErrors ?? []).toEqual([]);
    await page.context().close();
  });

  it('missing-scope path: preflight lists the scope, Generate Keys comes back with the same list', async () => {
    const lacking = 'url:GET|/api/v1/courses/:course_id/enrollments';
    h.sandbox.control.setKey({ requireScopes: true, scopes: DEMO_SCOPES.filter((s) => s !== lacking) });
    try {
      const id = await h.createIntegration({ name: 'Scoped Key College' });
      const page = await openSetupLink(id);
      await page.click('#preflight');
      expect(await page.locator('#preflight-result').getAttribute('data-ok')).toBe('false');
      expect(await page.locator('#preflight-missing-scopes').first().textContent()).toContain(lacking);
      await page.screenshot({ path: join(SHOTS, '07-preflight-missing-scope.png'), fullPage: true });

      await page.click('#generate-keys');
      await page.waitForURL(/\/oauth\/result/);
      await page.waitForSelector('[data-reason="missing_scopes"]');
      expect(await page.locator('#missing-scopes').first().textContent()).toContain(lacking);
      await page.screenshot({ path: join(SHOTS, '08-callback-missing-scope.png'), fullPage: true });

      // Fix the key in Canvas, then the one-click retry completes the flow.
      h.sandbox.control.addScopes({ scopes: [lacking] });
      await page.click('#retry');
      await logInToCanvas(page);
      await page.click('#authorize');
      await page.waitForURL(/\/oauth\/result/);
      await page.waitForSelector('[data-state="verified"]');
      await page.context().close();
    } finally {
      h.sandbox.control.setKey({ requireScopes: false, scopes: [...DEMO_SCOPES] });
    }
  });

  it('Cancel at Canvas while Verified: the result page and LMS settings say the connection still works; the LTI page says plainly localhost is not reachable', async () => {
    h.sandbox.control.setKey({ requireScopes: false, allowIncludes: true, scopes: [...DEMO_SCOPES] });
    const id = await h.createIntegration({ name: 'Lakeside University' });
    const page = await openSetupLink(id);
    await page.click('#generate-keys');
    await logInToCanvas(page);
    await page.click('#authorize');
    await page.waitForSelector('[data-state="verified"]');
    expect(await page.locator('#result-integration').textContent()).toBe('Lakeside University');

    await page.click('text=Back to LMS settings');
    await page.click('#generate-keys');
    await page.waitForSelector('#consent_form');
    await page.click('#cancel');
    await page.waitForURL(/\/oauth\/result/);
    expect(await page.locator('#kept-connection').textContent()).toContain('Your last attempt was cancelled at Canvas; the connection you had still works.');
    await page.screenshot({ path: join(SHOTS, '09-cancelled-attempt-kept.png'), fullPage: true });
    await page.click('#settings-link, #back-to-settings');
    expect((await page.locator('#status-badge').textContent())?.trim()).toBe('Verified');
    expect(await page.locator('#last-attempt').textContent()).toContain('the connection you had still works');
    await page.screenshot({ path: join(SHOTS, '10-lms-settings-last-attempt.png'), fullPage: true });

    // The demo's PUBLIC_URL is http on loopback: the row says so, with no red Fix badge.
    await page.goto(`${h.appUrl}/integrations/${id}/lti`);
    const row = page.locator('[data-check="https"]');
    expect(await row.locator('.badge').textContent()).toBe('Demo only');
    expect(await row.locator('.badge--failed').count()).toBe(0);
    expect(await row.textContent()).toContain('Not reachable by a hosted Canvas');
    expect(await row.textContent()).toContain('set PUBLIC_URL to the https address Canvas can reach');
    await row.screenshot({ path: join(SHOTS, '11-lti-reachability-row.png') });
    await page.context().close();
  });

  it('staff see every integration with a status badge', async () => {
    await h.createIntegration({ name: 'Northfield Community College' });
    const cancelled = await h.createIntegration({ name: 'Riverside Institute of Technology' });
    await h.authorize(cancelled, { action: 'cancel' });
    await h.c.staff.create({ email: 'staff-e2e@example.edu', name: 'Sam Staff', password: 'e2e staff passphrase' });
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    await page.goto(`${h.appUrl}/integrations`);
    await page.fill('#email', 'staff-e2e@example.edu');
    await page.fill('#password', 'e2e staff passphrase');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#integrations');
    expect(await page.locator('#integrations .badge--verified').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#integrations .badge--failed').count()).toBe(1);
    expect(await page.locator('#integrations .badge--not_connected').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, '00-integrations.png'), fullPage: true });
    await context.close();
  });
});
